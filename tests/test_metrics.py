import numpy as np
import pytest

from gr_bench import metrics

# A hand-made 3-task run: rows = after task i, columns = task j.
R = [
    [0.90, 0.10, 0.20],
    [0.60, 0.80, 0.30],
    [0.50, 0.70, 0.95],
]
b = [0.10, 0.20, 0.25]


def test_average_accuracy_after_each_task():
    np.testing.assert_allclose(metrics.avg_acc_after(R), [0.90, 0.70, (0.50 + 0.70 + 0.95) / 3])
    assert metrics.final_avg_acc(R) == pytest.approx(0.7166666666)


def test_forgetting_is_best_before_last_minus_final():
    # task 0: max(0.90, 0.60) - 0.50 = 0.40; task 1: max(0.80) - 0.70 = 0.10
    np.testing.assert_allclose(metrics.forgetting(R), [0.40, 0.10])
    assert metrics.avg_forgetting(R) == pytest.approx(0.25)


def test_forgetting_ignores_rows_before_the_task_was_trained():
    R2 = [[0.5, 0.9, 0.0], [0.5, 0.6, 0.0], [0.5, 0.4, 0.9]]  # R[0][1] = 0.9 is before training task 1
    np.testing.assert_allclose(metrics.forgetting(R2), [0.0, 0.2])


def test_bwt_and_fwt():
    # BWT: ((0.50 - 0.90) + (0.70 - 0.80)) / 2 = -0.25
    assert metrics.bwt(R) == pytest.approx(-0.25)
    # FWT: ((R[0][1] - b1) + (R[1][2] - b2)) / 2 = ((0.10 - 0.20) + (0.30 - 0.25)) / 2 = -0.025
    assert metrics.fwt(R, b) == pytest.approx(-0.025)


def test_perfect_memory_and_single_task():
    eye = np.ones((4, 4))
    assert metrics.avg_forgetting(eye) == 0 and metrics.bwt(eye) == 0
    assert metrics.summary([[0.7]], [0.1]) == {"final_avg_acc": 0.7, "avg_forgetting": 0.0, "bwt": 0.0, "fwt": 0.0}


def test_shape_errors():
    with pytest.raises(ValueError):
        metrics.final_avg_acc([[1, 2, 3]])
    with pytest.raises(ValueError):
        metrics.fwt(R, [0.1, 0.2])
