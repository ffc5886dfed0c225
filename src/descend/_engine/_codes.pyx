# cython: language_level=3
"""The codes shared by the kernels and the Python layer, read from
csrc/descend/codes.h (never copied by hand), and the typed kernel
configuration.

``StateRow``, ``Scalar``, ``HistColumn``, ``Status``, ``LazyRow`` and
``L2Form`` are IntEnums of the header's values; ``LOSS_NAMES``,
``OPTIMIZER_NAMES`` and ``SCHEDULE_NAMES`` list the C rules by code (a
name's index is its code).
"""
from ._csrc cimport descend_opt_buffers, descend_opt_l2_form

LOSS_NAMES = tuple(descend_loss_names[i].decode() for i in range(DESCEND_N_LOSSES))
OPTIMIZER_NAMES = tuple(descend_optimizer_names[i].decode()
                        for i in range(DESCEND_N_OPTIMIZERS))
SCHEDULE_NAMES = tuple(descend_schedule_names[i].decode()
                       for i in range(DESCEND_N_SCHEDULES))
#: chunks of a mini-batch gradient, at most (the scratch has that many rows)
BATCH_MAX_CHUNKS = DESCEND_BATCH_MAX_CHUNKS


def optimizer_buffers(int code):
    """State rows (BUF1, BUF2) the optimizer keeps per coordinate."""
    return descend_opt_buffers(code)


def optimizer_l2_form(int code):
    """How the L2 penalty enters the optimizer's update (an L2Form)."""
    return L2Form(descend_opt_l2_form(code))


cdef class KernelConfig:
    """What a kernel call needs to know, as one C struct.  Built only
    through these keyword arguments: a misspelled or missing field is a
    TypeError here, a renamed struct field a build error."""

    def __init__(self, *, int loss, double epsilon, bint regression,
                 double intercept_decay, bint blowup_check, bint fit_intercept,
                 bint scale, bint rows_identity, Py_ssize_t batch_size, bint shuffle,
                 double sw_sum, int n_threads, int hogwild, Py_ssize_t n_chunks, bint fused,
                 int optimizer, double momentum, double beta_1, double beta_2,
                 double rho, double eps, double l2, double l1, double clip_norm,
                 double average_start, int schedule, double eta0, double power_t,
                 double decay_rate, double decay_steps, double max_iter,
                 double optimal_t0, double optimal_alpha, double warmup_updates,
                 double tol, double n_iter_no_change, bint early_stopping,
                 double val_sst, bint keep_best):
        if not 0 <= loss < DESCEND_N_LOSSES:
            raise ValueError(f"unknown loss code {loss}")
        if not 0 <= optimizer < DESCEND_N_OPTIMIZERS:
            raise ValueError(f"unknown optimizer code {optimizer}")
        if not 0 <= schedule < DESCEND_N_SCHEDULES:
            raise ValueError(f"unknown schedule code {schedule}")
        self.c.loss = loss
        self.c.epsilon = epsilon
        self.c.regression = regression
        self.c.intercept_decay = intercept_decay
        self.c.blowup_check = blowup_check
        self.c.fit_intercept = fit_intercept
        self.c.scale = scale
        self.c.rows_identity = rows_identity
        self.c.batch_size = batch_size
        self.c.shuffle = shuffle
        self.c.sw_sum = sw_sum
        self.c.n_threads = n_threads
        self.c.hogwild = hogwild
        self.c.n_chunks = n_chunks
        self.c.fused = fused
        self.c.opt.kind = optimizer
        self.c.opt.momentum = momentum
        self.c.opt.beta_1 = beta_1
        self.c.opt.beta_2 = beta_2
        self.c.opt.rho = rho
        self.c.opt.eps = eps
        self.c.l2 = l2
        self.c.l1 = l1
        self.c.clip_norm = clip_norm
        self.c.average_start = average_start
        self.c.sched.kind = schedule
        self.c.sched.eta0 = eta0
        self.c.sched.power_t = power_t
        self.c.sched.decay_rate = decay_rate
        self.c.sched.decay_steps = decay_steps
        self.c.sched.max_iter = max_iter
        self.c.sched.optimal_t0 = optimal_t0
        self.c.sched.optimal_alpha = optimal_alpha
        self.c.sched.warmup_updates = warmup_updates
        self.c.tol = tol
        self.c.n_iter_no_change = n_iter_no_change
        self.c.early_stopping = early_stopping
        self.c.val_sst = val_sst
        self.c.keep_best = keep_best

    @property
    def optimal_first_step(self):
        """The "optimal" schedule's first step 1 / (alpha t0)."""
        return 1.0 / (self.c.sched.optimal_alpha * self.c.sched.optimal_t0)
