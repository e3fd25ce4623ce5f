"""The intake desk on both databases: what one witness's messages leave behind in storage."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from bot.app import Services
from bot.desk import InboundMessage, Receipt
from storage import messages as message_store
from storage import rotation, witnesses
from storage.cases import open_answers
from storage.crypto import DecryptionFailed, KeyUnavailable, WrappedKey
from storage.models import AuditEvent, Case, DataKeyRow, Message, OutboxItem, Witness
from tests.intake_scripts import ENGLISH_LOCKS, ENGLISH_MOVE, REFERENCE, SPANISH_SUPPORT

NUMBER = "+15550142233"


async def say(
    services: Services,
    text: str,
    *,
    address: str = NUMBER,
    channel: str = "sms",
    provider_id: str | None = None,
) -> Receipt:
    return await services.desk.receive(
        InboundMessage(channel=channel, address=address, text=text, provider_id=provider_id)
    )


async def walk(services: Services, script: list[str], **kwargs: object) -> Receipt:
    receipt = None
    for text in script:
        receipt = await say(services, text, **kwargs)  # type: ignore[arg-type]
    assert receipt is not None
    return receipt


async def only_case(services: Services) -> Case:
    async with services.db.read() as session:
        return (await session.execute(select(Case))).scalar_one()


async def count(services: Services, model: type) -> int:
    async with services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_english_intake_opens_a_relocation_case(services: Services) -> None:
    done = await walk(services, ENGLISH_MOVE)

    reference = REFERENCE.search(done.replies[0].text)
    assert reference is not None
    case = await only_case(services)
    assert (case.reference, case.queue, case.status, case.language) == (
        reference.group(0),
        "relocation",
        "waiting",
        "en",
    )
    assert case.priority == "high"
    assert set(case.needs.split(",")) == {"move_now", "locks"}
    async with services.db.read() as session:
        key = await witnesses.data_key_for(
            session, vault=services.vault, witness_id=case.witness_id
        )
        answers = open_answers(case, key)
        transcript = await message_store.transcript(session, key=key, case_id=case.id)
        opened = await session.scalar(select(AuditEvent).where(AuditEvent.action == "case.opened"))
    assert answers is not None
    assert answers["story"] == "someone keeps driving past my house"
    assert answers["household"] == "3"
    # The whole intake, both directions, belongs to the case's transcript.
    assert [line.text for line in transcript if line.direction == "in"] == ENGLISH_MOVE
    assert any(line.direction == "out" for line in transcript)
    assert opened is not None and opened.case_id == case.id


async def test_spanish_intake_opens_an_urgent_support_case(services: Services) -> None:
    done = await walk(services, SPANISH_SUPPORT)
    case = await only_case(services)
    assert (case.queue, case.priority, case.language) == ("support", "urgent", "es")
    assert case.reference in done.replies[0].text


async def test_locks_only_intake_goes_to_home_security(services: Services) -> None:
    await walk(services, ENGLISH_LOCKS)
    case = await only_case(services)
    assert (case.queue, case.priority) == ("home-security", "normal")


async def test_messages_after_intake_land_in_the_case(services: Services) -> None:
    await walk(services, ENGLISH_MOVE)
    before = await only_case(services)
    follow_up = await say(services, "they came back tonight")
    assert follow_up.replies
    async with services.db.read() as session:
        last_in = (
            await session.execute(
                select(Message)
                .where(Message.direction == "in")
                .order_by(Message.created_at.desc())
                .limit(1)
            )
        ).scalar_one()
        case = await session.get(Case, before.id)
    assert last_in.case_id == before.id
    assert case is not None and case.witness_active_at > before.witness_active_at


async def test_a_repeated_provider_id_answers_the_same_and_stores_nothing(
    services: Services,
) -> None:
    first = await say(services, "hi", provider_id="SM0001")
    rows = await count(services, Message)
    again = await say(services, "hi", provider_id="SM0001")
    assert again.duplicate
    assert [r.text for r in again.replies] == [r.text for r in first.replies]
    assert await count(services, Message) == rows
    # The same id from another channel is another message.
    other = await say(services, "hi", provider_id="SM0001", channel="telegram")
    assert not other.duplicate


async def test_witnesses_are_told_apart_by_address(services: Services) -> None:
    await walk(services, ENGLISH_LOCKS)
    await walk(services, ENGLISH_LOCKS, address="+15550109999")
    async with services.db.read() as session:
        cases = list((await session.execute(select(Case))).scalars())
    assert len({c.witness_id for c in cases}) == 2


async def test_stop_and_start_set_the_opt_out_flag(services: Services) -> None:
    await say(services, "hi")
    await say(services, "STOP")
    async with services.db.read() as session:
        assert (await session.execute(select(Witness))).scalar_one().opted_out
    silent = await say(services, "1")
    assert silent.replies == ()
    back = await say(services, "start")
    assert back.replies
    async with services.db.read() as session:
        assert not (await session.execute(select(Witness))).scalar_one().opted_out


async def test_outbox_channels_owe_their_replies(services: Services) -> None:
    receipt = await say(services, "hi", channel="telegram", address="tg:42")
    async with services.db.read() as session:
        owed = list((await session.execute(select(OutboxItem))).scalars())
    assert len(owed) == len(receipt.replies) > 0
    assert {item.status for item in owed} == {"pending"}


async def test_delete_confirmed_shreds_the_witness(services: Services) -> None:
    await walk(services, ENGLISH_MOVE)
    case = await only_case(services)
    async with services.db.read() as session:
        backup_key = await session.get(DataKeyRow, case.witness_id)
        sealed = [m.body_sealed for m in (await session.execute(select(Message))).scalars()]
    assert backup_key is not None
    old_answers = case.answers_sealed

    asked = await say(services, "DELETE")
    assert asked.replies and not asked.erased
    erased = await say(services, "yes")
    assert erased.erased and erased.replies

    assert case.witness_id is not None
    async with services.db.read() as session:
        assert await session.get(DataKeyRow, case.witness_id) is None
        witness = await session.get(Witness, case.witness_id)
        left = list((await session.execute(select(Message))).scalars())
        closed = await session.get(Case, case.id)
        with pytest.raises(KeyUnavailable):
            await witnesses.data_key_for(session, vault=services.vault, witness_id=case.witness_id)
    # No witness row (no lookup hash), no message rows; the case keeps aggregate facts only.
    assert witness is None and left == [] and sealed
    assert closed is not None and (closed.status, closed.outcome) == ("closed", "erased")
    assert closed.answers_sealed is None and old_answers is not None
    assert closed.witness_id is None and closed.reference is None
    assert (closed.queue, closed.needs, closed.language) == (case.queue, case.needs, case.language)
    assert closed.closed_at is not None and closed.closed_at == witnesses.day_of(closed.closed_at)
    assert closed.created_at == witnesses.day_of(case.created_at)

    # A backup still holds the wrapped key; once its master version is retired it is dead.
    wrapped = WrappedKey(backup_key.master_version, backup_key.wrapped)
    services.keys.add_version()
    await rotation.rewrap_all(services.db, vault=services.vault)
    services.keys.retire(wrapped.master_version)
    with pytest.raises(KeyUnavailable):
        services.vault.unwrap(wrapped, case.witness_id)

    # Writing again starts a brand-new, unlinked witness.
    fresh = await say(services, "hi")
    assert fresh.alias is not None and fresh.alias != erased.alias


async def test_delete_cancelled_keeps_everything(services: Services) -> None:
    await walk(services, ENGLISH_LOCKS)
    await say(services, "BORRAR")
    kept = await say(services, "no")
    assert not kept.erased
    case = await only_case(services)
    assert case.status == "waiting" and case.answers_sealed is not None
    assert await count(services, DataKeyRow) == 1


async def test_rotation_keeps_everything_readable_and_findable(services: Services) -> None:
    await walk(services, ENGLISH_MOVE)
    await walk(services, ENGLISH_LOCKS, address="+15550107777")
    services.keys.add_version()
    report = await rotation.rewrap_all(services.db, vault=services.vault)
    assert (report.active_version, report.rewrapped, report.relooked) == (2, 2, 2)
    assert await rotation.still_using(services.db, version=1) == 0
    services.keys.retire(1)

    async with services.db.read() as session:
        for case in (await session.execute(select(Case))).scalars():
            key = await witnesses.data_key_for(
                session, vault=services.vault, witness_id=case.witness_id
            )
            assert open_answers(case, key)
            for line in await message_store.transcript(session, key=key, case_id=case.id):
                assert line.text is not None
    # The first witness is still recognised by their number: the thread goes on.
    follow_up = await say(services, "are you there?")
    assert not follow_up.duplicate
    async with services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Witness)) == 2


async def test_a_ciphertext_moved_between_rows_does_not_open(services: Services) -> None:
    await walk(services, ENGLISH_LOCKS)
    async with services.db.write() as session:
        first, second = (
            await session.execute(select(Message).order_by(Message.created_at).limit(2))
        ).scalars()
        first.body_sealed = second.body_sealed
    async with services.db.read() as session:
        moved = await session.get(Message, first.id)
        key = await witnesses.data_key_for(
            session, vault=services.vault, witness_id=first.witness_id
        )
    assert moved is not None
    with pytest.raises(DecryptionFailed):
        message_store.open_body(moved, key)


async def test_every_stored_field_is_sealed_under_its_own_row(services: Services) -> None:
    await walk(services, ENGLISH_MOVE)
    async with services.db.read() as session:
        witness = (await session.execute(select(Witness))).scalar_one()
        key = await witnesses.data_key_for(session, vault=services.vault, witness_id=witness.id)
    assert witnesses.reply_address(witness, key) == NUMBER
    assert witness.lookup_key is not None and len(witness.lookup_key) == 32
    assert uuid.UUID(str(witness.id))
