"""The Job rows a collection run writes usage for, looked up once per run.

A run meets the same jobs hour after hour (a Deployment runs all day), so a map of the
jobs already met answers most lookups without the database. The others are read by name,
a few hundred at a time through the (cluster, namespace, kind, name) index, and the ones
still missing are created in one INSERT. The hours a job was seen widen with two UPDATEs
per hour whatever the number of jobs: every job that moves moves to the same hour. Who ran
a job (its `user`, when KUBEMON_USER_LABEL is set) follows its latest hour: one UPDATE per
hour and user that changed, whatever the number of jobs.
"""

from datetime import datetime

from billing.collection.attribution import JobUsage
from billing.models import Cluster, Job

BATCH = 500  # names per SELECT: well under SQLite's limit of bound parameters

Key = tuple[str, str, str]  # (namespace, kind, name)


class JobDirectory:
    """The Job rows of one cluster met so far, by (namespace, kind, name).

    Valid only as long as the transactions that created or widened its rows commit: call
    `forget` when one rolls back.
    """

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.known: dict[Key, Job] = {}

    def forget(self) -> None:
        self.known.clear()

    def for_hour(self, hour: datetime, usage: dict[Key, JobUsage]) -> dict[Key, Job]:
        """The Job rows of the usage's keys, created or widened to `hour` as needed."""
        keys = set(usage)
        self.read(keys - self.known.keys())
        self.create(hour, {k: usage[k] for k in keys - self.known.keys()})
        jobs = {key: self.known[key] for key in keys}
        self.widen(hour, jobs.values())
        self.name_users(hour, {key: (jobs[key], usage[key].user) for key in keys})
        return jobs

    def read(self, keys: set[Key]) -> None:
        names = sorted({name for _, _, name in keys})
        namespaces = sorted({namespace for namespace, _, _ in keys})
        for i in range(0, len(names), BATCH):
            found = Job.objects.filter(
                cluster=self.cluster, namespace__in=namespaces, name__in=names[i : i + BATCH]
            )
            for job in found:
                key = (job.namespace, job.kind, job.name)
                if key in keys:
                    self.known[key] = job

    def create(self, hour: datetime, usage: dict[Key, JobUsage]) -> None:
        new = [
            Job(
                cluster=self.cluster,
                namespace=namespace,
                kind=kind,
                name=name,
                parent_kind=job_usage.parent_kind,
                parent_name=job_usage.parent_name,
                user=job_usage.user,
                first_seen=hour,
                last_seen=hour,
            )
            for (namespace, kind, name), job_usage in sorted(usage.items())
        ]
        for job in Job.objects.bulk_create(new, batch_size=BATCH):
            self.known[(job.namespace, job.kind, job.name)] = job

    def widen(self, hour: datetime, jobs) -> None:
        earlier = [job for job in jobs if hour < job.first_seen]
        later = [job for job in jobs if hour > job.last_seen]
        for moved, field in ((earlier, "first_seen"), (later, "last_seen")):
            ids = [job.pk for job in moved]
            for i in range(0, len(ids), BATCH):
                Job.objects.filter(pk__in=ids[i : i + BATCH]).update(**{field: hour})
            for job in moved:
                setattr(job, field, hour)

    def name_users(self, hour: datetime, seen: dict[Key, tuple[Job, str]]) -> None:
        """Set each job's user to the one seen at `hour`, if it is the job's latest hour.

        An earlier hour (a window collected again) names the user only of a job without
        one; an hour without a user never clears it.
        """
        changed: dict[str, list[Job]] = {}
        for job, user in seen.values():
            if user and user != job.user and (hour >= job.last_seen or not job.user):
                changed.setdefault(user, []).append(job)
        for user, moved in sorted(changed.items()):
            ids = [job.pk for job in moved]
            for i in range(0, len(ids), BATCH):
                Job.objects.filter(pk__in=ids[i : i + BATCH]).update(user=user)
            for job in moved:
                job.user = user
