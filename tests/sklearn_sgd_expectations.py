"""What the scikit-learn SGD test adapter (test_sklearn_sgd.py) expects.

Three tables, each mapping a name to a one-line reason:

EXCLUDED
    Test functions of scikit-learn's ``linear_model/tests/test_sgd.py`` that
    are outside the acceptance criterion: they reach into scikit-learn's
    private internals (``_sgd_fast``, ``_stochastic_gradient``, private
    attributes, mocks of private helpers) or test an estimator descend does
    not replace. Their items are skipped with the reason.
NOT_REPLACED
    Estimator factories of that file that descend does not replace. A
    parametrised case whose parameters include one of them is skipped with
    the reason, whatever the test function.
EXPECTED_FAILURES
    Counted cases that fail against descend: key is an item name
    (``test_warm_start[SGDRegressor-adaptive]``) or a test function name
    (all its counted cases). They run as ``xfail(strict=True)``, so one that
    starts passing fails the suite until it is removed from here.

docs/sklearn_sgd_tests.md lists every entry with its reason; a test in
test_sklearn_sgd.py keeps the two in step.
"""

_SGD_FAST = "unit-tests scikit-learn's private Cython loss classes (sklearn.linear_model._sgd_fast)"
_ONE_CLASS = "tests SGDOneClassSVM only, which descend does not replace"

EXCLUDED: dict[str, str] = {
    # scikit-learn's private internals
    "test_plain_has_no_average_attr":
        "asserts on private attributes (_average_coef, _average_intercept, "
        "_standard_coef, _standard_intercept)",
    "test_loss_function_epsilon":
        "reads the loss_functions table, which maps loss names to private "
        "_sgd_fast loss classes and their arguments",
    "test_validation_mask_correctly_subsets":
        "mocks the private _stochastic_gradient._ValidationScoreCallback",
    "test_loss_hinge": _SGD_FAST,
    "test_gradient_squared_hinge": _SGD_FAST,
    "test_loss_modified_huber": _SGD_FAST,
    "test_loss_epsilon_insensitive": _SGD_FAST,
    "test_loss_squared_epsilon_insensitive": _SGD_FAST,
    # estimators descend does not replace
    "test_warm_start_oneclass": _ONE_CLASS,
    "test_clone_oneclass": _ONE_CLASS,
    "test_partial_fit_oneclass": _ONE_CLASS,
    "test_partial_fit_equal_fit_oneclass": _ONE_CLASS,
    "test_late_onset_averaging_reached_oneclass": _ONE_CLASS,
    "test_sgd_averaged_computed_correctly_oneclass": _ONE_CLASS,
    "test_sgd_averaged_partial_fit_oneclass": _ONE_CLASS,
    "test_average_sparse_oneclass": _ONE_CLASS,
    "test_ocsvm_vs_sgdocsvm": _ONE_CLASS,
    "test_sgd_oneclass_convergence": _ONE_CLASS,
    "test_sgd_oneclass_vs_linear_oneclass": _ONE_CLASS,
    "test_sgd_oneclass_vs_linear_oneclass_offsets_match": _ONE_CLASS,
    "test_sgd_one_class_svm_estimator_type": _ONE_CLASS,
    "test_sgd_one_class_svm_formulation_with_scipy_minimize": _ONE_CLASS,
}

NOT_REPLACED: dict[str, str] = {
    "SGDOneClassSVM": "SGDOneClassSVM case; descend does not replace SGDOneClassSVM",
    "SparseSGDOneClassSVM": "SGDOneClassSVM case; descend does not replace SGDOneClassSVM",
}

# Root causes of the expected failures, one constant each (see
# docs/sklearn_sgd_tests.md for the diagnosis and what would fix it).
_SPARSE_INTERCEPT_DECAY = (
    "CSR copy of dense toy data: scikit-learn damps the intercept's steps by 0.01 "
    "for any sparse matrix (SPARSE_INTERCEPT_DECAY), which the test's ASGD "
    "reference mirrors; descend's intercept_decay='auto' damps by the data's "
    "sparsity (< 10% nonzeros), not its storage, so that dense and CSR copies "
    "train the same model")
_ZERO_VALIDATION_WEIGHT_MESSAGE = (
    "sample_weight all zero with early_stopping: expects 'The sample weights for "
    "validation set are all zero, consider using a different random state.'; "
    "descend rejects all-zero sample_weight before any split, naming it ('sample_weight "
    "sums to zero; at least one weight must be positive'; the validation-set message "
    "is raised when only the held-out rows weigh zero)")

_SHUFFLE_STREAM = (
    "asserts score > 0.8 and n_iter_ < 120 at random_state=0 on unscaled iris; without "
    "shuffling descend gives scikit-learn's coefficients and epochs exactly, but "
    "scikit-learn's 'shuffle' applies one fixed permutation again every epoch (its "
    "SequentialDataset.shuffle takes the seed by value) where descend draws a new uniform "
    "order per epoch, so early stopping meets other validation scores: at random_state=0 "
    "the score is 0.78 (over random_state 0-39 the mean score is 0.889 against 0.891; see "
    "docs/sklearn_sgd_tests.md)")

EXPECTED_FAILURES: dict[str, str] = {
    "test_late_onset_averaging_reached[SparseSGDClassifier]": _SPARSE_INTERCEPT_DECAY,
    "test_late_onset_averaging_reached[SparseSGDRegressor]": _SPARSE_INTERCEPT_DECAY,
    "test_average_binary_computed_correctly[SparseSGDClassifier]": _SPARSE_INTERCEPT_DECAY,
    "test_sgd_multiclass_average[SparseSGDClassifier]": _SPARSE_INTERCEPT_DECAY,
    "test_sgd_averaged_computed_correctly[SparseSGDRegressor]": _SPARSE_INTERCEPT_DECAY,
    "test_sgd_averaged_partial_fit[SparseSGDRegressor]": _SPARSE_INTERCEPT_DECAY,
    "test_average_sparse[SparseSGDRegressor]": _SPARSE_INTERCEPT_DECAY,
    "test_sgd_error_on_zero_validation_weight": _ZERO_VALIDATION_WEIGHT_MESSAGE,
    "test_multi_thread_multi_class_and_early_stopping": _SHUFFLE_STREAM,
}
