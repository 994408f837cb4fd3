"""Child programs of the benchmark: each one runs in a process of its own, by path.

- `launcher.py`: spawns each measured process and reports its wall time, CPU and peak RSS
- `moto_server.py`: moto's server, so that no measured client shares a GIL with it
- `bare_loop.py`: the bare boto3 FilterLogEvents loop, the baseline that every ratio compares against
"""
