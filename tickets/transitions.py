"""The ticket life cycle: submitted → accepted → in_progress → answered / closed; rejected with a reason."""

from __future__ import annotations

STATUSES = ("submitted", "accepted", "in_progress", "answered", "closed", "rejected")
OPEN_STATUSES = ("submitted", "accepted", "in_progress")

ALLOWED = {
    "submitted": ("accepted", "rejected", "closed"),
    "accepted": ("in_progress", "answered", "rejected", "closed"),
    "in_progress": ("answered", "rejected", "closed"),
    "answered": ("closed",),
    "closed": (),
    "rejected": (),
}
NOTE_REQUIRED = ("rejected", "closed")

# closing circumstances for data requests (after the qld-gov-au fork of ckanext-datarequests)
RESOLUTIONS = {
    "released": "已作为开放数据发布",
    "already_exists": "数据已存在于目录中",
    "partially_released": "部分发布",
    "to_be_released": "计划稍后发布",
    "available_elsewhere": "可从其他渠道获取",
    "not_suitable": "不适合开放",
    "not_available": "数据不存在",
    "requestor_closed": "申请人撤回",
}

LABELS = {
    "submitted": "已提交",
    "accepted": "已受理",
    "in_progress": "办理中",
    "answered": "已答复",
    "closed": "已办结",
    "rejected": "不予受理",
}


class TransitionError(ValueError):
    """A transition that the life cycle does not allow, or that lacks its required note."""


def check(current: str, target: str, note: str | None, resolution: str | None = None) -> None:
    if target not in STATUSES:
        raise TransitionError(f"unknown status {target!r}; statuses: {', '.join(STATUSES)}")
    if target not in ALLOWED[current]:
        allowed = ", ".join(ALLOWED[current]) or "none (final status)"
        raise TransitionError(f"{current} -> {target} is not allowed; allowed from {current}: {allowed}")
    if target in NOTE_REQUIRED and not (note or "").strip():
        raise TransitionError(f"a note (the reason) is required to move a ticket to {target}")
    if resolution is not None and resolution not in RESOLUTIONS:
        raise TransitionError(f"unknown resolution {resolution!r}; resolutions: {', '.join(RESOLUTIONS)}")
