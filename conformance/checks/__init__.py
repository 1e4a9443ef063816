"""The checks, one module per clause group (clauses.py): each check names the clause it
verifies, and a move lives in the module of the group it is about.

    common       the trial (one example: the net, its model, the script so far) and the
                 check/call helpers every module uses
    lifecycle    build, initialize, forward and the structure compared after every move
                 (DI-01..03, 06..10, 13, 26..28)
    naming       collect_params(select), names (DI-04, DI-05)
    reinit       a second initialize(), force_reinit (DI-11, DI-12)
    in_units     known input sizes (DI-14..16)
    errors       data()/grad()/list_ctx() (DI-17, DI-18)
    set_data     set_data before/after initialize (DI-19..21)
    sharing      shared parameters listed once (DI-22)
    hybridize    hybridize() (DI-23)
    save_load    save/load_parameters, deepcopy (DI-24, DI-25); save on its own, load
                 into an initialized deferred net, a copy changed afterwards (DI-34..36)
    identity     Parameter.data() the same array while Gluon keeps it (DI-29)
    randomness   the default initializer's draws: support, moments, distinct, seeded
                 replay (DI-30..32); grad_req in every state (DI-33) is in errors
    ndarray      NDArray (ND-01..13); autograd: autograd (AG-01..09)
    loss         gluon.loss (LS-01..12); trainer: optimizers, schedulers, Trainer (TR-01..18)
    file_format  MXNet's NDArray list file: nd.save/load, parameter files, export (FF-01..09)
    values       outputs against the numpy reference forward, after every forward pass of
                 every parameter group; random weights, training passes (VA-01..06)

They import no framework: the trial reaches the implementation through its adapter.
"""

from conformance.checks import common, errors, hybridize, in_units, lifecycle  # noqa: F401
from conformance.checks import naming, reinit, save_load, set_data, sharing  # noqa: F401
from conformance.checks import autograd, loss, ndarray, trainer  # noqa: F401,E402
from conformance.checks import file_format  # noqa: F401,E402
from conformance.checks import identity, randomness  # noqa: F401,E402
from conformance.checks import values  # noqa: F401,E402
