"""``gmmkit image segment | background``: the image commands.

scikit-image and imageio load inside the commands, so ``gmmkit --help``
stays fast. Results go to stdout (``--json`` for machines), progress to
stderr (``-q`` silences it); errors are one line (gmmkit's CLI turns
ValueError and OSError into ``Error: ...``).
"""

from __future__ import annotations

import click

from gmmkit.cli.helpers import (
    command_outputs,
    echo_json,
    force_option,
    format_table,
    json_option,
    output_option,
    quiet_option,
    seed_option,
)

#: suffixes write_labels writes (-o of segment)
LABEL_SUFFIXES = (".png", ".tif", ".tiff", ".npy")


class ComponentsOrAuto(click.ParamType):
    """``-k``: a positive integer or ``auto``."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, int):
            return value
        if str(value).isdigit() and int(value) >= 1:
            return int(value)
        self.fail(f"{value!r} is not a positive integer or 'auto'", param, ctx)


def _say(quiet):
    return (lambda message: None) if quiet else (lambda message: click.echo(message, err=True))


def _channel_axis(text, image):
    """The channel axis from ``--channel-axis`` (auto: colour when the last axis has 3-4)."""
    if text == "none":
        return None
    if text != "auto":
        return int(text)
    colour = image.ndim == 3 and image.shape[-1] in (3, 4)
    return -1 if colour or image.ndim == 4 else None


def _read_mask(path, image, channel_axis):
    """Boolean mask of the image's spatial shape: non-zero pixels (any channel)."""
    from gmmkit_image import io

    mask = io.read_image(path)
    if mask.ndim == image.ndim - (channel_axis is not None) + 1:
        return (mask != 0).any(axis=-1)
    return mask != 0


@click.group()
def image():
    """Image segmentation and video background subtraction (gmmkit_image)."""


@image.command()
@click.argument("image_path", metavar="IMAGE")
@click.option("-k", "--n-classes", default="3", show_default=True, type=ComponentsOrAuto(),
              help="Number of classes, or 'auto' (BIC).")
@click.option("--features", default="intensity", show_default=True, metavar="NAME[,NAME...]",
              help="Feature extractors: intensity, channels, rgb, lab, xy, texture, gabor.")
@click.option("--smooth", "smoothing", default=0.0, show_default=True,
              type=click.FloatRange(min=0), help="Potts weight beta of HMRF-EM (0: none).")
@click.option("--method", type=click.Choice(["mean-field", "icm"]), default="mean-field",
              show_default=True, help="How the smoothing updates pixels.")
@click.option("--mask", "mask_path", type=click.Path(dir_okay=False),
              help="Image or .npy of the same size: non-zero pixels are segmented.")
@click.option("--channel-axis", default="auto", show_default=True,
              type=click.Choice(["auto", "none", "0", "-1"]),
              help="auto: a 3-D array whose last axis has 3 or 4 entries is colour.")
@click.option("--covariance-type", type=click.Choice(["full", "tied", "diag", "spherical"]),
              default="full", show_default=True)
@click.option("--min-region", default=0, show_default=True, type=click.IntRange(min=0),
              help="Merge connected regions smaller than this many pixels.")
@click.option("--max-pixels", default=100_000, show_default=True, type=click.IntRange(min=1),
              help="Fit on a random subsample of at most this many pixels.")
@seed_option()
@output_option("Label image: .png (palette colours, values = labels), .tif or .npy.")
@click.option("--overlay", type=click.Path(dir_okay=False),
              help="Write the classes painted over the image (PNG).")
@click.option("--probabilities", type=click.Path(dir_okay=False),
              help="Write per-class posterior maps to this .npz (class_1, class_2, ...).")
@force_option
@json_option("the result")
@quiet_option
def segment(image_path, n_classes, features, smoothing, method, mask_path, channel_axis,
            covariance_type, min_region, max_pixels, seed, output, overlay, probabilities,
            force, as_json, quiet):
    """Segment IMAGE (PNG, JPEG, TIFF, .npy volume) into classes; print per-class statistics."""
    from gmmkit_image import io, postprocess
    from gmmkit_image import segment as run_segment
    from gmmkit_image.segmentation import warn_empty_classes

    say = _say(quiet)
    outputs = command_outputs(force, image_path, mask_path)
    files = {"labels": outputs.file(output, "output", suffixes=LABEL_SUFFIXES),
             "overlay": outputs.file(overlay, "overlay", suffixes=io.IMAGE_SUFFIXES),
             "probabilities": outputs.file(probabilities, "probabilities")}
    say(f"reading {image_path}")
    picture = io.read_image(image_path)
    axis = _channel_axis(channel_axis, picture)
    mask = None if mask_path is None else _read_mask(mask_path, picture, axis)
    names = [name.strip() for name in features.split(",") if name.strip()]
    result = run_segment(
        picture, n_classes, features=names, smoothing=smoothing, method=method, mask=mask,
        channel_axis=axis, covariance_type=covariance_type, max_pixels=max_pixels,
        probabilities=probabilities is not None, random_state=seed, verbose=not quiet,
    )
    if min_region:
        result.labels = postprocess.remove_small_regions(result.labels, min_region)
        warn_empty_classes(result.labels, result.n_classes,
                           f"--min-region {min_region} merged its regions into their neighbours",
                           "give a smaller --min-region or fewer classes")
    if files["labels"] is not None:
        files["labels"].write(lambda temporary: io.write_labels(temporary, result.labels))
    if files["overlay"] is not None:
        files["overlay"].write(lambda temporary: io.write_rgb(temporary, result.overlay()))
    if files["probabilities"] is not None:
        maps = {f"class_{k + 1}": result.probabilities[..., k] for k in range(result.n_classes)}
        files["probabilities"].write(lambda temporary: _write_npz(temporary, maps))
    outputs.commit()
    written = {what: out.path for what, out in files.items() if out is not None}
    summary = {
        "image": image_path,
        "shape": list(picture.shape),
        "channel_axis": axis,
        "n_classes": result.n_classes,
        "features": names,
        "smoothing": smoothing,
        "n_fit_pixels": result.n_fit_pixels,
        "classes": result.statistics(),
        "written": written,
    }
    if as_json:
        echo_json(summary)
    else:
        click.echo(_segment_text(summary))


def _write_npz(path, maps):
    """np.savez_compressed to exactly ``path`` (given a name, numpy would append .npz)."""
    import numpy as np

    with open(path, "xb") as handle:
        np.savez_compressed(handle, **maps)


def _segment_text(summary):
    shape = " x ".join(map(str, summary["shape"]))
    lines = [
        f"{summary['image']}: {shape}, {summary['n_classes']} classes from "
        f"{', '.join(summary['features'])}"
        + (f", smoothing beta={summary['smoothing']}" if summary["smoothing"] else ""),
        "",
        format_table(["class", "pixels", "fraction", "mean grey", "mean colour"],
               [[row["class"], row["pixels"], f"{row['fraction']:.4f}",
                 f"{row['mean_grey']:.4f}", " ".join(f"{v:.4f}" for v in row["mean"])]
                for row in summary["classes"]]),
    ]
    lines += [f"{what} written to {path}" for what, path in summary["written"].items()]
    return "\n".join(lines)


@image.command()
@click.argument("source", metavar="VIDEO_OR_FRAME_DIR")
@output_option("Folder for the masks (mask_00000.png, ...; 255 foreground, 127 shadow).",
               required=True, directory=True)
@click.option("-k", "--n-components", default=5, show_default=True,
              type=click.IntRange(min=1), help="Gaussians per pixel.")
@click.option("--learning-rate", type=click.FloatRange(0, 1),
              help="Weight of each frame (default: 1/min(frame number, history)).")
@click.option("--history", default=500, show_default=True, type=click.IntRange(min=1))
@click.option("--var-threshold", default=16.0, show_default=True, type=click.FloatRange(min=0),
              help="Squared Mahalanobis distance within which a pixel is background.")
@click.option("--shadows", is_flag=True, help="Mark shadows as 127 in the masks.")
@click.option("--background", "background_path", type=click.Path(dir_okay=False),
              help="Write the final background image here.")
@force_option
@json_option("the result")
@quiet_option
def background(source, output, n_components, learning_rate, history, var_threshold, shadows,
               background_path, force, as_json, quiet):
    """Foreground masks of every frame of a video file or a folder of frames."""
    import imageio.v3 as iio
    import numpy as np

    from gmmkit_image import BackgroundModel, io

    say = _say(quiet)
    outputs = command_outputs(force, source)
    masks = outputs.directory(output, "output")  # the masks appear only when every frame worked
    background_file = outputs.file(background_path, "background_path",
                                   suffixes=io.IMAGE_SUFFIXES)
    out_dir = masks.temporary
    model = BackgroundModel(n_components, learning_rate=learning_rate, history=history,
                            var_threshold=var_threshold, shadows=shadows)
    fractions = []
    for index, frame in enumerate(io.read_frames(source)):
        mask = model.apply(frame)
        iio.imwrite(out_dir / f"mask_{index:05d}.png", mask)
        fractions.append(float(np.mean(mask == 255)))
        if (index + 1) % 50 == 0:
            say(f"background: {index + 1} frames")
    written = {"masks": output}
    if background_file is not None:
        background_file.write(lambda temporary: iio.imwrite(temporary, model.background_image()))
        written["background"] = background_path
    outputs.commit()
    summary = {
        "source": source,
        "n_frames": len(fractions),
        "frame_shape": list(model.frame_shape_),
        "mean_foreground_fraction": float(np.mean(fractions)),
        "foreground_fraction": fractions,
        "written": written,
    }
    if as_json:
        echo_json(summary)
        return
    click.echo(
        f"{source}: {summary['n_frames']} frames of "
        f"{' x '.join(map(str, summary['frame_shape']))}; mean foreground "
        f"{100 * summary['mean_foreground_fraction']:.2f}% of the pixels"
    )
    for what, path in written.items():
        click.echo(f"{what} written to {path}")
