import math

import pytest

from gr_bench.schedule import ScheduleError, parse_schedule


@pytest.mark.parametrize(
    "spec, n_new, expected",
    [
        ("constant:300", 800, [0, 300, 300, 300, 300]),
        ("linear:1000", 800, [0, 1000, 2000, 3000, 4000]),  # the seed's S = S0 + T*St
        ("sqrt:1000", 800, [0, 1000, round(1000 * math.sqrt(2)), round(1000 * math.sqrt(3)), 2000]),
        ("proportional:1.5", 800, [0, 1200, 1200, 1200, 1200]),
        ("proportional:0.25", 12000, [0, 3000, 3000, 3000, 3000]),
        ("manual:500,800,900,1000", 800, [0, 500, 800, 900, 1000]),
    ],
)
def test_sizes_follow_definitions(spec, n_new, expected):
    assert parse_schedule(spec).sizes(5, n_new) == expected


def test_round_trip_string():
    for spec in ("constant:300", "linear:1000", "sqrt:7", "proportional:0.5", "manual:1,2,3"):
        assert str(parse_schedule(spec)) == spec


def test_manual_runs_out():
    s = parse_schedule("manual:10,20")
    with pytest.raises(ScheduleError, match="needs one more"):
        s(3)


@pytest.mark.parametrize(
    "bad",
    ["", "linear", "linear:", "linear:-5", "linear:0", "linear:1.5", "cubic:3", "manual:", "manual:1,,2",
     "manual:1,x", "proportional:0", "proportional:nan", "proportional:inf", "proportional:abc", ":5", "LINEAR:5"],
)
def test_malformed_rejected_with_one_line(bad):
    with pytest.raises(ScheduleError) as e:
        parse_schedule(bad)
    assert "\n" not in str(e.value) and "schedule" in str(e.value)
