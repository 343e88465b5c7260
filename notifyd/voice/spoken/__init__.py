"""Words for the ear: the values a notice speaks, in the forms a listener understands.

The written notice shows a permit number, a date and a phone number as people type them; read
aloud, "2C11AB0001" becomes "two thousand…" and "+62 342 000000" "three hundred forty-two…".
Here each becomes what a clerk would say on the phone: identifiers one character at a time in
groups, phone numbers in digit groups, dates as day and month, counts and amounts in words where
the voice needs them. One module per kind of value; per-language tables inside each.
"""

from notifyd.voice.spoken.characters import phone, spell
from notifyd.voice.spoken.numbers import amount, count, day_month, person_name

__all__ = ["amount", "count", "day_month", "person_name", "phone", "spell"]
