"""The sandbox driven by pywa, an independent WhatsApp Cloud API client, and its webhooks
checked and parsed by pywa's own code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from pywa.errors import WhatsAppError
from pywa.types import Button, Section, SectionList, SectionRow
from pywa.types.templates import BodyText, QuickReplyButton, TemplateLanguage
from twins import PHONE_ID, TO

from conftest import ogg_voice_note, sandbox_call

WA = TO.lstrip("+")


def idle(sandbox: Any) -> None:
    sandbox_call(sandbox, "POST", "/_sandbox/idle")


def open_window(sandbox: Any) -> None:
    sandbox_call(sandbox, "POST", "/_sandbox/inbound", {"from": TO, "text": "halo"})


def test_an_upper_case_template_with_an_integer_index_keeps_its_quick_reply(
    wa: Any, inbox: Any, sandbox: Any
) -> None:
    sent = wa.send_template(
        to=WA,
        name="notifyd_izin_tinggal",
        language=TemplateLanguage.INDONESIAN,
        params=[BodyText.params("Ayu"), QuickReplyButton.params(callback_data="listen:7", index=0)],
        tracker="attempt-41",
    )
    idle(sandbox)
    tapped = sandbox_call(sandbox, "POST", "/_sandbox/tap", {"to": TO})
    assert tapped["payload"] == "listen:7" and tapped["tapped"] == sent.id
    assert [(t.data, t.reply_to_message.id) for t in inbox.taps] == [("listen:7", sent.id)]
    statuses = [(s.id, s.status.value, s.tracker) for s in inbox.statuses]
    assert statuses == [(sent.id, "sent", "attempt-41"), (sent.id, "delivered", "attempt-41")]
    pricing = inbox.statuses[0].pricing
    assert (pricing.billable, pricing.category.value) == (True, "utility")
    assert inbox.rejected == 0


def test_the_raw_status_carries_conversation_and_pricing(
    wa: Any, sandbox: Any, receiver: Any
) -> None:
    import json

    from notifyd.hookspecs import WebhookResult

    bodies: list[dict[str, Any]] = []
    receiver.handlers["whatsapp"] = lambda r: bodies.append(json.loads(r.body)) or WebhookResult()
    wa.send_template(to=WA, name="t", language=TemplateLanguage.INDONESIAN, tracker="a-1")
    idle(sandbox)
    sent = bodies[0]["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert sent["biz_opaque_callback_data"] == "a-1"
    assert set(sent["conversation"]) == {"id", "origin", "expiration_timestamp"}
    assert sent["pricing"] == {
        "billable": True,
        "pricing_model": "PMP",
        "category": "utility",
        "type": "regular",
    }


def test_a_message_is_marked_as_read_and_a_stranger_id_is_refused(
    wa: Any, inbox: Any, sandbox: Any
) -> None:
    open_window(sandbox)
    (mid,) = sandbox.state.inbound_ids
    assert wa.mark_message_as_read(mid).success is True
    with pytest.raises(WhatsAppError) as info:
        wa.mark_message_as_read("wamid.nobody-sent-this")
    assert info.value.code == 131009


def test_reply_buttons_and_lists_are_sent_and_tapped(wa: Any, inbox: Any, sandbox: Any) -> None:
    open_window(sandbox)
    wa.send_message(WA, "Dengarkan?", buttons=[Button("Ya", "yes"), Button("Nanti", "later")])
    sandbox_call(sandbox, "POST", "/_sandbox/tap", {"to": TO, "choice": 1})
    rows = [SectionRow("Bahasa Indonesia", "id"), SectionRow("English", "en")]
    wa.send_message(WA, "Bahasa?", buttons=SectionList("Pilih", [Section("Bahasa", rows)]))
    tapped = sandbox_call(sandbox, "POST", "/_sandbox/tap", {"to": TO, "choice": 1})
    assert tapped["payload"] == "en"
    assert [t.data for t in inbox.taps] == ["later"]  # pywa parses list rows as selections


def test_a_voice_note_by_id_and_by_link_are_delivered_and_a_dead_link_fails(
    wa: Any, inbox: Any, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    note = ogg_voice_note(tmp_path / "note.ogg")
    receiver.audio["note.ogg"] = note
    open_window(sandbox)
    by_id = wa.send_voice(WA, note.read_bytes(), mime_type="audio/ogg")
    by_link = wa.send_voice(WA, f"{receiver.server.url}/audio/note.ogg")
    dead = wa.send_audio(WA, f"{receiver.server.url}/audio/missing.ogg")
    idle(sandbox)
    final = {s.id: s for s in inbox.statuses}
    assert final[by_id.id].status.value == "delivered"
    assert final[by_link.id].status.value == "delivered"
    assert final[dead.id].status.value == "failed" and final[dead.id].error.code == 131053
    assert sandbox.state.files[by_link.id][1] == note.read_bytes()  # fetched, as Meta does


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"type": "text", "text": {}}, 100),
        ({"type": "text", "text": {"body": "x" * 4097}}, 100),
        ({"type": "audio", "audio": {}}, 100),
        ({"type": "hologram"}, 100),
        ({"type": "text", "text": {"body": "x"}, "biz_opaque_callback_data": "x" * 513}, 100),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": {"text": "?"},
                    "action": {
                        "buttons": [
                            {"type": "reply", "reply": {"id": str(i), "title": "t"}}
                            for i in range(4)
                        ]
                    },
                },
            },
            131009,
        ),
    ],
)
def test_graph_refuses_what_the_reference_forbids(
    wa: Any, sandbox: Any, message: dict[str, Any], code: int
) -> None:
    open_window(sandbox)
    answer = wa.api._session.post(
        f"/{PHONE_ID}/messages", json={"messaging_product": "whatsapp", "to": WA, **message}
    )
    error = answer.json()["error"]
    assert answer.status_code == 400 and error["code"] == code
    assert {"message", "type", "code", "error_data", "fbtrace_id"} <= set(error)


def test_unknown_paths_and_methods_answer_graph_errors(sandbox: Any) -> None:
    headers = {"Authorization": "Bearer sandbox-token"}
    nowhere = httpx.get(f"{sandbox.url}/v23.0/{PHONE_ID}/nowhere/else", headers=headers)
    assert nowhere.status_code == 400 and nowhere.json()["error"]["code"] == 2500
    wrong = httpx.get(f"{sandbox.url}/v23.0/{PHONE_ID}/messages", headers=headers)
    error = wrong.json()["error"]
    assert (wrong.status_code, error["code"], error["error_subcode"]) == (400, 100, 33)
    assert error["type"] == "GraphMethodException"
