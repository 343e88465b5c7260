"""How many people each channel can reach, and the warnings an operator must not miss.

A channel that reaches nobody is usually a mapping mistake (no WhatsApp column in the export),
so it is said at check-config and at every sync, with counts, rather than left to be noticed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def reach_warnings(
    order: Sequence[str], people: int, counts: Mapping[str, int], min_share: float
) -> list[str]:
    """One warning per channel of the order that reaches nobody or fewer than `min_share`."""
    if people == 0:
        return []
    out = []
    for name in order:
        n = counts.get(name, 0)
        if n == 0:
            out.append(
                f"channel {name!r} can reach none of {people:,} people: check the column it "
                "needs (whatsapp, phone or email) in registry.columns, or take it out of "
                "channel_order"
            )
        elif n < min_share * people:
            out.append(
                f"channel {name!r} can reach only {n:,} of {people:,} people ({n / people:.0%}), "
                f"fewer than registry.min_channel_share ({min_share:.0%}): check the numbers in "
                "its column with `notifyd rejected`"
            )
    return out


def reach_line(order: Iterable[str], people: int, counts: Mapping[str, int]) -> str:
    """`whatsapp 0, sms 12 of 12 people`, for the sync report."""
    parts = [f"{name} {counts.get(name, 0):,}" for name in order]
    return f"{', '.join(parts)} of {people:,} people"


def count_reach(channel_lists: Iterable[Sequence[str]]) -> tuple[int, dict[str, int]]:
    """People and the count per channel from each person's reachable channels."""
    people, counts = 0, dict[str, int]()
    for channels in channel_lists:
        people += 1
        for name in channels:
            counts[name] = counts.get(name, 0) + 1
    return people, counts
