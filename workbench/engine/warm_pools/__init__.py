"""Managed warm pools (ResourceConfig.KeepAlivePeriodInSeconds), kept on this machine.

    store      the pools under the state directory: records, matching, expiry (evaluated
               whenever pools are read, so a pool expires on time with no process running)
    extension  the hooks the runner calls: claim or create a pool, mount its persistent
               cache, hand the pool back (Available, or Terminated) when the job ends

A pool here holds no instances (containers are made per job, as always); what it keeps
is what a user can observe of one on SageMaker: its status, its billable retained time,
which job reused it, and the persistent cache directory that carries over between the
jobs that use it.
"""
