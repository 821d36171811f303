"""``gmmkit image segment | background``: the image commands.

scikit-image and imageio load inside the commands, so ``gmmkit --help``
stays fast. Results go to stdout (``--json`` for machines), progress to
stderr (``-q`` silences it); errors are one line (gmmkit's CLI turns
ValueError and OSError into ``Error: ...``).
"""

from __future__ import annotations

import warnings

import click

from gmmkit.cli.helpers import (
    COVARIANCE_TYPES,
    command_outputs,
    echo_json,
    force_option,
    format_table,
    json_option,
    output_option,
    quiet_option,
    seed_option,
)

#: suffixes write_labels writes (-o of segment), and NIfTI
LABEL_SUFFIXES = (".png", ".tif", ".tiff", ".npy", ".nii", ".gz")


class ComponentsOrAuto(click.ParamType):
    """``-k``: a positive integer or ``auto``."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, int):
            return value
        if str(value).isdigit() and int(value) >= 1:
            return int(value)
        self.fail(f"{value!r} is not a positive integer or 'auto'", param, ctx)


class BetaOrAuto(click.ParamType):
    """``--smooth``: a number >= 0 or ``auto``."""

    name = "BETA|auto"

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, float):
            return value
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not 0 <= number < float("inf"):
            self.fail(f"{value!r} is not a number >= 0 or 'auto'", param, ctx)
        return number


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


def _check_suffix(path, option, suffixes):
    """A .gz label file must be .nii.gz (the outputs' suffix check sees only .gz)."""
    if path is not None and path.lower().endswith(".gz") and not path.lower().endswith(
            ".nii.gz"):
        raise click.BadParameter(f"cannot write '{path}': give a file ending in "
                                 f"{', '.join(s for s in suffixes if s != '.gz')} or .nii.gz",
                                 param_hint=f"'{option}'")


def _read_input(image_path, volume):
    """(array, NiftiVolume or None) of IMAGE; a 4-D NIfTI file needs --volume."""
    from gmmkit_image import io, nifti

    if not nifti.is_nifti(image_path):
        if volume is not None:
            raise click.UsageError("--volume picks a volume of a 4-D NIfTI file; "
                                   f"{image_path} is not NIfTI.")
        return io.read_image(image_path), None
    try:
        scan = nifti.read_nifti(image_path, volume=volume)
    except nifti.VolumeChoiceError as exc:
        n = exc.shape[3]
        given = "" if volume is None else f"; --volume {volume} is not one of them"
        raise ValueError(f"{image_path} holds 4-D data of shape {exc.shape} ({n} volumes)"
                         f"{given}; choose one with --volume N (0..{n - 1}).") from None
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    return scan.data, scan


def _read_mask(mask_path, picture, channel_axis, scan, image_path):
    """Boolean mask of the image's spatial shape (non-zero voxels), checked against IMAGE."""
    from gmmkit_image import io, nifti

    name = f"--mask {mask_path}"
    spatial = picture.shape if channel_axis is None else \
        tuple(n for i, n in enumerate(picture.shape) if i != channel_axis % picture.ndim)
    fix = f"give a mask on the grid of {image_path} (resample it, with nearest-neighbour " \
          "interpolation)"
    if nifti.is_nifti(mask_path):
        mask_scan = nifti.read_nifti(mask_path)
        if scan is not None:
            nifti.check_same_grid(scan, mask_scan, mask_name=name, fix=fix)
        mask = mask_scan.data != 0
    else:
        mask = io.read_image(mask_path)
        if mask.ndim == len(spatial) + 1:
            mask = (mask != 0).any(axis=-1)
        mask = mask != 0
    if mask.shape != spatial:
        raise ValueError(f"{name} has shape {mask.shape} but {image_path} has "
                         f"{spatial}; {fix}.")
    if not mask.any():
        raise ValueError(f"{name} selects no voxel (every value is 0); give a mask whose "
                         "non-zero voxels are the ones to segment.")
    return mask


def _check_positive(picture, mask, image_path):
    """--bias-field works on intensities >= 0 (a multiplicative field, log domain)."""
    import numpy as np

    values = picture if mask is None else picture[mask]
    negative = int(np.sum(values < 0))
    if negative:
        where = " inside the mask" if mask is not None else ""
        raise ValueError(
            f"{image_path} has {negative} negative value{'s' if negative > 1 else ''}{where}; "
            "--bias-field multiplies intensities by a positive field (log domain) and needs "
            "values >= 0: shift the image first (add a constant) or leave those voxels out "
            "with --mask."
        )


@click.group()
def image():
    """Image segmentation and video background subtraction (gmmkit_image)."""


@image.command()
@click.argument("image_path", metavar="IMAGE")
@click.option("-k", "--n-classes", default="3", show_default=True, type=ComponentsOrAuto(),
              help="Number of classes, or 'auto' (K = 1..10 by BIC; prints the table of K "
                   "tried and why each was not chosen).")
@click.option("--features", default="auto", show_default=True, metavar="NAME[,NAME...]",
              help="Feature extractors: intensity, channels, rgb, lab, xy, texture, gabor; "
                   "auto: lab (colour) for an RGB image, intensity (grey level) otherwise and "
                   "with --bias-field or --partial-volume.")
@click.option("--smooth", "smoothing", default=0.0, show_default=True, type=BetaOrAuto(),
              help="Potts weight beta of HMRF-EM (0: none; 0.5 is a good start; 'auto': "
                   "estimated from the image).")
@click.option("--method", type=click.Choice(["mean-field", "icm"]), default="mean-field",
              show_default=True, help="How the smoothing updates pixels.")
@click.option("--bias-field", is_flag=True,
              help="Estimate and remove a smooth multiplicative intensity field (MRI bias, "
                   "uneven lighting) inside EM.")
@click.option("--bias-order", default=3, show_default=True, type=click.IntRange(min=1),
              help="Polynomial order of the (log) bias field.")
@click.option("--bias-classes", type=click.IntRange(min=1),
              help="Estimate the bias field with this many classes first, then keep it fixed "
                   "for the -k classes (e.g. 2 for a photo whose background is more than one "
                   "Gaussian); needs --bias-field.")
@click.option("--mask", "mask_path", type=click.Path(dir_okay=False),
              help="Image, .npy or NIfTI of the same grid: non-zero voxels are segmented.")
@click.option("--volume", type=click.IntRange(min=0),
              help="Which volume of a 4-D NIfTI IMAGE to segment (0-based).")
@click.option("--channel-axis", default="auto", show_default=True,
              type=click.Choice(["auto", "none", "0", "-1"]),
              help="auto: a 3-D array whose last axis has 3 or 4 entries is colour.")
@click.option("--covariance-type", type=click.Choice(list(COVARIANCE_TYPES)),
              default="full", show_default=True,
              help="Shape of each class's Gaussian over the features: scikit-learn's full, "
                   "tied, diag, spherical or one of mclust's models (EII ... VVV for several "
                   "features, E or V for the grey level alone).")
@click.option("--min-region", default=0, show_default=True, type=click.IntRange(min=0),
              help="Merge connected regions smaller than this many pixels.")
@click.option("--max-pixels", default=100_000, show_default=True, type=click.IntRange(min=1),
              help="Fit the starting mixture on a random subsample of at most this many pixels.")
@click.option("--hmrf-max-pixels", default=1_000_000, show_default=True,
              type=click.IntRange(min=1),
              help="With more pixels than this, --smooth/--bias-field estimate on a strided grid "
                   "of at most --max-pixels pixels, then refine at full resolution.")
@seed_option()
@output_option("Label image: .png (palette colours, values = labels), .tif, .npy, or "
               ".nii/.nii.gz (on IMAGE's grid).")
@click.option("--overlay", type=click.Path(dir_okay=False),
              help="Write the classes painted over the image (PNG); for a 3-D volume, axial, "
                   "coronal and sagittal slices through its centre side by side.")
@click.option("--probabilities", type=click.Path(dir_okay=False),
              help="Write per-class posterior maps: .nii/.nii.gz (one volume per class), "
                   "else .npz (class_1, class_2, ...).")
@click.option("--partial-volume", "partial_volume", type=click.Path(dir_okay=False),
              help="Estimate per-class partial-volume fractions and write them (NIfTI, "
                   "else .npz); volumes are then counted from them.")
@click.option("--field", "field_path", type=click.Path(dir_okay=False),
              help="Write the estimated bias field (NIfTI, else .npy; needs --bias-field).")
@click.option("--corrected", "corrected_path", type=click.Path(dir_okay=False),
              help="Write IMAGE divided by the bias field (NIfTI, else .npy; needs "
                   "--bias-field).")
@force_option
@json_option("the result")
@quiet_option
def segment(image_path, n_classes, features, smoothing, method, bias_field, bias_order,
            bias_classes, mask_path, volume, channel_axis, covariance_type, min_region, max_pixels,
            hmrf_max_pixels, seed,
            output, overlay, probabilities, partial_volume, field_path, corrected_path, force,
            as_json, quiet):
    """Segment IMAGE (PNG, JPEG, TIFF, .npy, NIfTI) into classes; print per-class statistics."""
    from gmmkit_image import io, postprocess
    from gmmkit_image import segment as run_segment
    from gmmkit_image.segmentation import warn_empty_classes

    if (field_path or corrected_path) and not bias_field:
        raise click.UsageError(f"{'--field' if field_path else '--corrected'} writes the bias "
                               "field's result; add --bias-field.")
    if bias_classes is not None and not bias_field:
        raise click.UsageError("--bias-classes sets how the bias field is estimated; add "
                               "--bias-field.")
    _check_suffix(output, "-o", LABEL_SUFFIXES)
    say = _say(quiet)
    outputs = command_outputs(force, image_path, mask_path)
    files = {"labels": outputs.file(output, "output", suffixes=LABEL_SUFFIXES),
             "overlay": outputs.file(overlay, "overlay", suffixes=io.IMAGE_SUFFIXES),
             "probabilities": outputs.file(probabilities, "probabilities"),
             "partial_volume": outputs.file(partial_volume, "partial_volume"),
             "field": outputs.file(field_path, "field_path"),
             "corrected": outputs.file(corrected_path, "corrected_path")}
    say(f"reading {image_path}")
    picture, scan = _read_input(image_path, volume)
    axis = None if scan is not None else _channel_axis(channel_axis, picture)
    mask = None if mask_path is None else _read_mask(mask_path, picture, axis, scan,
                                                     image_path)
    if bias_field:
        _check_positive(picture, mask, image_path)
    names = None if features.strip() == "auto" else \
        [name.strip() for name in features.split(",") if name.strip()]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_segment(
            picture, n_classes, features=names, smoothing=smoothing, method=method, mask=mask,
            channel_axis=axis, covariance_type=covariance_type, max_pixels=max_pixels,
            hmrf_max_pixels=hmrf_max_pixels,
            bias_field=bias_field, bias_order=bias_order, bias_classes=bias_classes,
            partial_volume=partial_volume is not None,
            spacing=None if scan is None else scan.spacing,
            probabilities=probabilities is not None, random_state=seed, verbose=not quiet,
        )
    _rewarn(caught)
    if min_region:
        result.labels = postprocess.remove_small_regions(result.labels, min_region)
        warn_empty_classes(result.labels, result.n_classes,
                           f"--min-region {min_region} merged its regions into their neighbours",
                           "give a smaller --min-region or fewer classes")
    _write_results(files, result, scan)
    outputs.commit()
    written = {what: out.path for what, out in files.items() if out is not None}
    summary = {
        "image": image_path,
        "shape": list(picture.shape),
        "channel_axis": axis,
        "spacing": list(result.spacing),
        "n_classes": result.n_classes,
        "features": list(result.features),
        "smoothing": smoothing,
        "beta": result.beta,
        "bias_field": bias_field,
        "bias_classes": bias_classes,
        "n_iter": result.n_smoothing_iter,
        "n_fit_pixels": result.n_fit_pixels,
        "unit": "voxels" if result.labels.ndim == 3 else "pixels",
        "classes": _class_rows(result),
        "selection": result.selection,
        "written": written,
    }
    if as_json:
        echo_json(summary)
    else:
        click.echo(_segment_text(summary, scan is not None, axis is not None))


def _class_rows(result):
    """statistics() with each class's volume (partial-volume based) and plain-mixture share."""
    rows = result.statistics()
    plain = result.plain_shares
    for k, (row, volume) in enumerate(zip(rows, result.volumes)):
        row["volume"] = float(volume)
        if plain is not None:
            row["plain_fraction"] = float(plain[k])
    return rows


#: how the warnings of segment() read on the command line
CLI_WORDS = (("n_classes='auto'", "-k auto"), ("with a mask", "with --mask"),
             ("Give K explicitly", "Give -k N"), ("Use less smoothing", "Use a smaller --smooth"))


def _rewarn(caught):
    """Warn again what segment() warned, in the command line's words."""
    from gmmkit_image.report import (
        SelectionWarning,
        SmoothingShrinkWarning,
        ZeroVarianceClassWarning,
    )

    ours = (SelectionWarning, SmoothingShrinkWarning, ZeroVarianceClassWarning)
    for caught_warning in caught:
        message = str(caught_warning.message)
        if issubclass(caught_warning.category, ours):
            for python, cli in CLI_WORDS:
                message = message.replace(python, cli)
        warnings.warn(message, caught_warning.category, stacklevel=2)


def _write_results(files, result, scan):
    """Every requested output file, in the format its suffix names."""

    from gmmkit_image import io, nifti

    arrays = {"labels": result.labels, "probabilities": result.probabilities,
              "partial_volume": result.partial_volume, "field": result.bias_field,
              "corrected": result.corrected}
    for what, out in files.items():
        if out is None:
            continue
        final = str(out.path)
        array = arrays.get(what)
        if what == "overlay":
            picture = result.montage() if result.labels.ndim == 3 else result.overlay()
            out.write(lambda temporary, p=picture: io.write_rgb(temporary, p))
        elif nifti.is_nifti(final):
            out.write(lambda temporary, a=array, gz=final.lower().endswith(".gz"):
                      nifti.write_nifti(temporary, a, scan, spacing=result.spacing,
                                        compress=gz))
        elif what == "labels":
            out.write(lambda temporary: io.write_labels(temporary, result.labels))
        elif what in ("probabilities", "partial_volume"):
            out.write(lambda temporary, maps=array: _write_npz(
                temporary, {f"class_{k + 1}": maps[..., k] for k in range(maps.shape[-1])}))
        else:
            out.write(lambda temporary, a=array: _write_npy(temporary, a))


def _write_npy(path, array):
    """np.save to exactly ``path`` (given a name, numpy would append .npy)."""
    import numpy as np

    with open(path, "xb") as handle:
        np.save(handle, array)


def _write_npz(path, maps):
    """np.savez_compressed to exactly ``path`` (given a name, numpy would append .npz)."""
    import numpy as np

    with open(path, "xb") as handle:
        np.savez_compressed(handle, **maps)


def _segment_text(summary, physical, colour):
    shape = " x ".join(map(str, summary["shape"]))
    beta = summary["beta"]
    extra = ""
    if summary["smoothing"]:
        extra += f", smoothing beta={beta:g}" + (" (auto)" if summary["smoothing"] == "auto"
                                                 else "")
    if summary["bias_field"]:
        extra += ", bias field"
    unit = "volume (mm^3)" if physical else "volume"
    rows = summary["classes"]
    plain = "plain_fraction" in rows[0] if rows else False
    before = "before smoothing" if summary["smoothing"] else "plain mixture"
    header = ["class", summary["unit"], "fraction"] + ([before] if plain else []) + \
        [unit, "mean grey"] + (["mean colour"] if colour else [])
    table = []
    for row in rows:
        cells = [row["class"], row["pixels"], f"{row['fraction']:.4f}"]
        cells += [f"{row['plain_fraction']:.4f}"] if plain else []
        cells += [f"{row['volume']:.6g}", f"{row['mean_grey']:.4f}"]
        cells += [" ".join(f"{v:.4f}" for v in row["mean"])] if colour else []
        table.append(cells)
    lines = [
        f"{summary['image']}: {shape}, {summary['n_classes']} "
        f"{'class' if summary['n_classes'] == 1 else 'classes'} from "
        f"{', '.join(summary['features'])}" + extra,
        "",
        format_table(header, table),
    ]
    if summary["selection"]:
        lines += ["", "-k auto: K tried (BIC, lower is better)",
                  format_table(["K", "BIC", "log-likelihood", "status"],
                               [[r["k"], "-" if r["bic"] is None else f"{r['bic']:.1f}",
                                 "-" if r["log_likelihood"] is None
                                 else f"{r['log_likelihood']:.1f}", r["status"]]
                                for r in summary["selection"]])]
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
@click.option("--history", default=500, show_default=True, type=click.IntRange(min=1),
              help="Frames the automatic learning rate averages over (1/min(frame, history)).")
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
