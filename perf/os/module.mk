# perf/os: benchmarks of the library OS and skrun (boot, console, files, idle).
