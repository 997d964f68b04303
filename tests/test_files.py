"""gr_bench.files: the CSV log that timing scripts append to."""

import csv

from gr_bench.files import append_csv


def test_append_csv_writes_the_header_once_and_keeps_earlier_rows(tmp_path):
    path = tmp_path / "log" / "runs.csv"
    append_csv(path, [{"a": 1, "b": 2}], ["a", "b"])
    append_csv(path, [{"a": 3, "b": 4}, {"a": 5, "b": 6}], ["a", "b"])
    with path.open(newline="") as f:
        assert list(csv.DictReader(f)) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}, {"a": "5", "b": "6"}]
