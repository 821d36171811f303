"""The estimators: GaussianMixture (restarts, partial_fit), BayesianGaussianMixture,
GMMClassifier, GaussianMixtureRegressor and model selection. They validate input,
resolve names (initialisers, fit hooks) into callables, call the engine and set
the fitted ``*_`` attributes.
"""
