"""One small declarative module per study; each defines STUDY (a gr_bench.orchestration.StudySpec)."""
