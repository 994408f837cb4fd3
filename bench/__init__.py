"""The benchmark of apilogs (bench/README.md). `python bench/run.py` runs it; its parts:

- `run.py`: the command line: options, the order of the parts, the results file, the exit code
- `suites.py`: the two parts of a run, on loopback and in AWS's shape: servers, data, warm-up, rounds
- `scenarios.py`: what is measured, one function per scenario (bare loop, apilogs get, awslogs, follow)
- `rig.py`: what a part measures with: servers, launcher, cache dirs, the tools' command lines
- `procs.py`: process control: child environment, launcher client, servers, CPU clocks, clean-up
- `data.py`: loading events, the window, the reference read, checking a tool's output against it
- `samples.py`: one run's figures, medians over runs, the proxy's call counts
- `report.py`: the tables, the ratios against the same run's baseline, PASS/FAIL of the targets
- `support.py`: the test suite's proxies (AWS-shaped, fault), imported from this one place
- `child/`: programs run in processes of their own: the launcher, moto's server, the bare loop
- `tui.py`: the TUI's benchmark; `golden.py`: CLI output recorded and compared byte for byte
"""
