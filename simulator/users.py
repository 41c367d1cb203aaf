"""Who submitted a job: the `user` label of its pods (as Run:ai and similar schedulers set).

Each namespace has a small pool of user names; a Job's user is picked from the pool by a hash
of the seed and the Job's identity, never from the simulator's shared random stream, so adding
users changes no other sample. Every pod of a Job carries its user; some Jobs have none
(submitted by hand without the label), and non-Job workloads never have one.
"""

from simulator.levels import stable_int

POOL = ("alice", "bruno", "chloe", "dmitri", "emma", "farid", "giulia", "hugo")
POOL_SIZE = 3  # users per namespace, a slice of POOL that depends on the namespace
WITHOUT_USER = 5  # one Job in WITHOUT_USER has no user label
LABEL = "user"  # the pod label name (kube-state-metrics allowlist: pods=[user])


def job_user(seed: int, workload) -> str | None:
    """The user of a Job workload, None for a Job without the label or another kind."""
    if workload.kind != "Job":
        return None
    h = stable_int(seed, "user", workload.namespace, workload.name)
    if h % WITHOUT_USER == 0:
        return None
    first = stable_int(seed, "user-pool", workload.namespace) % len(POOL)
    k = (h // WITHOUT_USER) % POOL_SIZE
    return POOL[(first + k) % len(POOL)]
