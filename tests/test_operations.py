"""docs/operations.md stays true: every figure in its table is printed by a benchmark that
`make bench` runs, every test it cites exists, and the queue-splitting settings it documents work.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
QUEUE_VARIABLES = (
    "SCREENBRIDGE_LAUNCH_QUEUE",
    "SCREENBRIDGE_RESULTS_QUEUE",
    "SCREENBRIDGE_WRITEBACK_QUEUE",
)
OPERATIONS = (BASE_DIR / "docs" / "operations.md").read_text()
BENCHES = sorted((BASE_DIR / "tests" / "bench").glob("bench_*.py"))


def _figures_table_keys() -> list[str]:
    section = OPERATIONS.split("## Measured figures", 1)[1].split("\n## ", 1)[0]
    keys = []
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) > 3 and "`" in cells[2]:
            keys += re.findall(r"`([a-z0-9_]+)`", cells[2])
    return keys


def test_every_figure_in_the_table_is_printed_by_a_benchmark_that_make_bench_runs() -> None:
    sources = "\n".join(path.read_text() for path in BENCHES)
    keys = _figures_table_keys()
    assert len(keys) >= 15
    for key in keys:
        # Keys are literals, or a literal stem with _ms / _queries added (the queue bench).
        stem = re.sub(r"_(ms|queries)$", "", key)
        assert f'"{key}"' in sources or (stem != key and f'"{stem}"' in sources), key
    makefile = (BASE_DIR / "Makefile").read_text()
    assert "tests/bench/bench_*.py" in makefile
    assert "--short" in makefile
    for bench in BENCHES:
        assert '"--short"' in bench.read_text(), f"{bench.name} has no --short mode"


def test_every_test_cited_in_the_operations_guide_exists() -> None:
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?", OPERATIONS)
    assert len(cited) >= 10
    for path, name in cited:
        source = (BASE_DIR / path).read_text()
        if name:
            assert f"def {name}(" in source, f"{path}::{name} does not exist"


def test_launch_results_and_writeback_tasks_can_be_routed_to_queues_of_their_own() -> None:
    script = (
        "import django; django.setup()\n"
        "from config.celery import app\n"
        "for name in ('integrations.process_inbound_event', 'interviews.process_vendor_event',\n"
        "             'integrations.relay_writebacks', 'interviews.invite',\n"
        "             'interviews.sweep'):\n"
        "    print(name, app.amqp.router.route({}, name)['queue'].name)\n"
        "print('order', app.conf.broker_transport_options['queue_order_strategy'])\n"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.test")
    for name in QUEUE_VARIABLES:
        env.pop(name, None)

    def routes(**extra: str) -> dict[str, str]:
        out = subprocess.run(
            [sys.executable, "-c", script],
            cwd=BASE_DIR,
            env=env | extra,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        return dict(line.split() for line in out.splitlines())

    split = routes(
        SCREENBRIDGE_LAUNCH_QUEUE="launch",
        SCREENBRIDGE_RESULTS_QUEUE="results",
        SCREENBRIDGE_WRITEBACK_QUEUE="writeback",
    )
    assert split == {
        "integrations.process_inbound_event": "launch",
        "interviews.invite": "launch",
        "interviews.process_vendor_event": "results",
        "integrations.relay_writebacks": "writeback",
        "interviews.sweep": "celery",
        "order": "priority",
    }
    default = routes()
    assert default.pop("order") == "priority"
    assert set(default.values()) == {"celery"}
