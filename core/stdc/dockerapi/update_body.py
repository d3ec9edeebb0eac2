"""The body of ``POST /containers/{id}/update`` (Docker's ``UpdateConfig``) as the options of
:func:`stdc.engine.live_update.update`: a field absent, null, zero or empty is left as it is (the
docker CLI sends every field), but for ``MemorySwap`` -1 and ``PidsLimit`` 0 (unlimited)."""

from __future__ import annotations

from typing import Any

from stdc.engine.kernel_limits import LimitFlags
from stdc.engine.live_update import UpdateOptions
from stdc.errors import BadInput


def _given(body: dict, key: str) -> Any:
    value = body.get(key)
    return None if value in (None, 0, "") else value


def _size(body: dict, key: str) -> str | None:
    """A size in bytes as the CLI's flags give it (a string); None when not given."""
    value = _given(body, key)
    return None if value is None else str(int(value))


def _restart(policy: object) -> str | None:
    """``RestartPolicy`` ``{"Name", "MaximumRetryCount"}`` as ``--restart``'s ``on-failure:N``."""
    if not isinstance(policy, dict) or not policy.get("Name"):
        return None
    count = policy.get("MaximumRetryCount") or 0
    return f"{policy['Name']}:{count}" if policy["Name"] == "on-failure" and count else str(policy["Name"])


def update_options(body: dict) -> UpdateOptions:
    """The update's options from Docker's ``UpdateConfig`` (sizes in bytes, ``NanoCpus`` in 1e-9 cpus)."""
    nano = _given(body, "NanoCpus")
    pids = body.get("PidsLimit")
    try:
        return UpdateOptions(
            memory=_size(body, "Memory"),
            memory_swap=_size(body, "MemorySwap"),
            cpus=str(int(nano) / 1e9) if nano is not None else None,
            cpu_shares=_given(body, "CpuShares"),
            cpuset_cpus=_given(body, "CpusetCpus"),
            pids_limit=int(pids) if pids is not None else None,
            restart=_restart(body.get("RestartPolicy")),
            limits=LimitFlags(
                memory_reservation=_size(body, "MemoryReservation"),
                kernel_memory=_size(body, "KernelMemory"),
                blkio_weight=_given(body, "BlkioWeight"),
                cpu_period=_given(body, "CpuPeriod"),
                cpu_quota=_given(body, "CpuQuota"),
                cpu_rt_period=_given(body, "CpuRealtimePeriod"),
                cpu_rt_runtime=_given(body, "CpuRealtimeRuntime"),
                cpuset_mems=_given(body, "CpusetMems"),
            ),
        )
    except (TypeError, ValueError) as e:
        raise BadInput(f"invalid update: {e}") from None
