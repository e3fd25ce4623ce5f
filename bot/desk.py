"""The intake desk: runs one witness message through the engine and stores what it did.

Everything one inbound message causes (the message, the new conversation state, a case
opened, the replies owed) is written in a single transaction, before any reply leaves.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import alerts, flood, keyboards
from bot.batching import GroupCommit
from bot.channels import Channels
from bot.intake.engine import advance, open_question
from bot.intake.model import (
    Button,
    CaseAmended,
    CaseOpened,
    CaseStatus,
    Context,
    ConversationState,
    DangerReported,
    EraseConfirmed,
    Inbound,
    Language,
    LanguageChosen,
    OptedIn,
    OptedOut,
    Priority,
    QuietRequested,
    Reply,
    Turn,
    WitnessWrote,
)
from bot.outbox import encode_options
from bot.reference import new_reference
from bot.targets import ResponseTargets
from storage import audit, cases, conversations, messages, outbox, witnesses
from storage.cases import ReferenceTaken
from storage.crypto import DataKey, Vault
from storage.db import Database, WriteConflict
from storage.known import Known, Wanted, gather
from storage.models import Case, Witness, utcnow
from storage.states import Action, ActorKind, Delivery, Direction

log = logging.getLogger(__name__)

ATTEMPTS = 5


@dataclass(frozen=True)
class InboundMessage:
    """A witness's message as the edge hands it in: only what the intake needs."""

    channel: str
    address: str
    text: str
    provider_id: str | None = None
    language_hint: Language | None = None
    has_media: bool = False
    # The provider's handle for this message in the witness's chat (a Telegram message
    # id), kept sealed so the chat can be cleaned when the witness erases their data.
    handle: str | None = None
    # A pressed button, bound to the question it was shown under.
    button: Button | None = None
    # False when the message has no meaningful arrival time (a script piped into the
    # terminal): it is then never read as part of a burst.
    timed: bool = True


@dataclass(frozen=True)
class Receipt:
    """What to answer: replies already stored, and whether the message was seen before."""

    replies: tuple[Reply, ...]
    alias: str | None
    duplicate: bool = False
    erased: bool = False
    opted_out: bool = False
    language: Language | None = None
    # Staff were alerted (or Telegram's chat is to be emptied): the outbox has work now.
    alerted: bool = False


class IntakeDesk:
    def __init__(
        self,
        *,
        db: Database,
        vault: Vault,
        channels: Channels,
        on_owed: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
        burst_seconds: float = 0.0,
        targets: ResponseTargets | None = None,
        crisis_line: str | None = None,
        conversation: timedelta = timedelta(hours=1),
        on_danger: Callable[[AsyncSession, Case, str, datetime], Awaitable[None]] | None = None,
        flood_per_minute: int = 30,
    ) -> None:
        self._db = db
        self._vault = vault
        self._on_owed = on_owed
        self._clock = clock
        self._burst_seconds = burst_seconds
        self._targets = targets or ResponseTargets.parse(minutes=None, office_hours=None)
        self._crisis_line = crisis_line
        self._conversation = conversation
        # Staff alerts when a witness signals danger (bot/alerts.py, given by the app).
        self._on_danger = on_danger
        # Past this many messages in a minute a witness is flooding (bot/flood.py).
        self._flood_per_minute = flood_per_minute
        # What each channel does with replies, copies, chats and opt-outs.
        self._channels = channels
        self._batches: GroupCommit[InboundMessage, Receipt] = GroupCommit(
            run_batch=self._receive_batch,
            run_one=self._receive_alone,
            key=lambda message: (message.channel, message.address),
        )

    async def receive(self, message: InboundMessage) -> Receipt:
        """Record one inbound message and everything it causes; replies come back stored.

        The message joins the next batch (bot/batching.py): its receipt arrives once the
        batch's one transaction is committed. One witness's messages go in order.
        """
        return await self._batches.submit(message)

    async def _receive_batch(self, batch: Sequence[InboundMessage]) -> list[Receipt]:
        """Many witnesses' messages in one transaction: read together, written at one flush."""
        async with self._db.write(carrying=len(batch)) as session:
            receipts = await self._receive_all(session, batch)
        for message, receipt in zip(batch, receipts, strict=True):
            self._owe(message, receipt)
        return receipts

    async def _receive_all(
        self, session: AsyncSession, batch: Sequence[InboundMessage]
    ) -> list[Receipt]:
        wanted = [Wanted(m.channel, m.address, m.provider_id) for m in batch]
        known = await gather(session, vault=self._vault, wanted=wanted)
        return [await self._receive(session, message, known) for message in batch]

    def _owe(self, message: InboundMessage, receipt: Receipt) -> None:
        inline = self._channels[message.channel].inline
        if (receipt.replies and not inline) or receipt.alerted:
            self._on_owed()

    async def _receive_alone(self, message: InboundMessage) -> Receipt:
        """One message in its own transaction, tried again on the collisions that allow it."""
        for _ in range(ATTEMPTS):
            try:
                (receipt,) = await self._receive_batch([message])
                return receipt
            except ReferenceTaken:
                log.warning("case reference collision; drawing another")
            except WriteConflict as exc:
                log.debug("integrity conflict: %s", exc)
                # Two deliveries of the same message raced on PostgreSQL: the retry finds
                # the first one and answers as a duplicate.
                log.info("concurrent insert conflict; retrying")
        raise RuntimeError("could not record the message after repeated conflicts")

    async def _receive(
        self, session: AsyncSession, message: InboundMessage, known: Known
    ) -> Receipt:
        channel = self._channels[message.channel]
        if message.provider_id is not None and known.maybe_seen(
            channel=message.channel, provider_id=message.provider_id
        ):
            seen = await messages.find_by_provider_id(
                session,
                vault=self._vault,
                channel=message.channel,
                provider_id=message.provider_id,
            )
            if seen is not None:
                return await self._repeat(session, seen.id, seen.witness_id)

        witness = known.witness(channel=message.channel, address=message.address)
        stored = None
        if witness is None:
            witness, key = await witnesses.create_witness(
                session, vault=self._vault, channel=message.channel, address=message.address
            )
        else:
            key = witnesses.unwrapped(
                known.data_key(witness.id), vault=self._vault, witness_id=witness.id
            )
            stored = known.conversation(witness.id)
        saved = conversations.opened(stored, key=key)
        state = ConversationState.from_dict(saved) if saved else None
        case = await _current_case(session, witness_id=witness.id, state=state, known=known)
        now = self._clock()
        if witness.paused_at is not None and message.button is None:
            # They wrote again after EXIT: messages may reach them again.
            await witnesses.resume(session, witness=witness, now=now)
        turn = advance(
            state,
            Inbound(
                text=message.text,
                language_hint=message.language_hint,
                has_media=message.has_media,
                button=message.button,
            ),
            Context(
                new_reference=new_reference(),
                case_status=CaseStatus(case.status) if case else None,
                help=channel.help,
                exit_empties_chat=channel.erase_window is not None,
                now=now if message.timed else None,
                burst_seconds=self._burst_seconds,
                case_due_at=case.due_at if case else None,
                due_by_priority={p: self._targets.due(p, now) for p in Priority},
                crisis_line=self._crisis_line,
                in_conversation=await self._in_conversation(session, case, now),
            ),
        )
        screened = self._screen(saved, turn=turn, message=message, now=now)
        turn = replace(turn, replies=screened.replies)
        inbound = await messages.add_message(
            session,
            key=key,
            direction=Direction.IN,
            text=message.text or ("[media not kept]" if message.has_media else ""),
            case_id=case.id if case and _wrote_to(turn, case) else None,
            provider_key=self._provider_key(message),
            handle=message.handle,
        )
        if message.provider_id is not None and channel.forget_after is not None:
            await outbox.enqueue_forget(
                session,
                vault=self._vault,
                channel=channel.name,
                provider_id=message.provider_id,
                now=now,
                at=now + channel.forget_after,
            )
        receipt = await self._apply(
            session,
            witness=witness,
            key=key,
            turn=turn,
            inbound_id=inbound.id,
            case=case,
            now=now,
            alert_danger=screened.alert_danger,
        )
        if not receipt.erased:
            watch = await self._flood_alert(
                session, watch=screened.watch, witness=witness, turn=turn, now=now
            )
            if watch.alerted and not screened.watch.alerted:
                receipt = replace(receipt, alerted=True)
            # The flood record travels with the engine's state, sealed with it.
            saving = {**turn.state.to_dict(), flood.STATE_KEY: watch.to_dict()}
            conversations.save_state(
                session, key=key, witness_id=witness.id, state=saving, row=stored
            )
        return receipt

    def _screen(
        self,
        saved: dict[str, Any] | None,
        *,
        turn: Turn,
        message: InboundMessage,
        now: datetime,
    ) -> flood.Screened:
        """Count this message towards the witness's pace; in a flood, hold back replies."""
        watch = flood.FloodWatch.from_dict((saved or {}).get(flood.STATE_KEY))
        if message.timed:
            # A piped script has no arrival times worth counting.
            watch = flood.pace(watch, now=now, per_minute=self._flood_per_minute)
        language = turn.state.language or message.language_hint or Language.EN
        return flood.screen(watch, turn, language=language)

    async def _flood_alert(
        self,
        session: AsyncSession,
        *,
        watch: flood.FloodWatch,
        witness: Witness,
        turn: Turn,
        now: datetime,
    ) -> flood.FloodWatch:
        """Staff hear of a flood once, about the witness's case (as soon as there is one)."""
        if not watch.flooding or watch.alerted:
            return watch
        case = await _current_case(session, witness_id=witness.id, state=turn.state, known=None)
        if case is None or case.status == CaseStatus.CLOSED:
            # Nothing in the console to open yet; the alert waits for the case.
            return watch
        await alerts.alert_staff(
            session, vault=self._vault, case=case, reason=alerts.FLOOD, now=now
        )
        await audit.record(
            session, actor_kind=ActorKind.WITNESS, action=Action.FLOODED, case_id=case.id
        )
        log.warning("witness %s is flooding case %s", witness.alias, case.reference)
        return replace(watch, alerted=True)

    async def _apply(
        self,
        session: AsyncSession,
        *,
        witness: Witness,
        key: DataKey,
        turn: Turn,
        inbound_id: uuid.UUID,
        case: Case | None,
        now: datetime,
        alert_danger: bool = True,
    ) -> Receipt:
        for event in turn.events:
            if isinstance(event, EraseConfirmed):
                return await self._erase(session, witness=witness, key=key, turn=turn)
            if isinstance(event, LanguageChosen):
                witnesses.set_language(witness, event.language.value)
            elif isinstance(event, OptedOut):
                witnesses.set_opted_out(witness, True)
            elif isinstance(event, OptedIn):
                witnesses.set_opted_out(witness, False)
            elif isinstance(event, CaseOpened):
                case = await self._open_case(
                    session, key=key, event=event, now=now, alert=alert_danger
                )
            elif isinstance(event, CaseAmended) and case is not None:
                await self._amend_case(
                    session, key=key, case=case, event=event, now=now, alert=alert_danger
                )
            elif isinstance(event, WitnessWrote) and case is not None:
                await self._witness_wrote(session, case=case, now=now)
            elif isinstance(event, DangerReported) and case is not None:
                await self._danger(
                    session, case=case, reasons=event.reasons, now=now, alert=alert_danger
                )
            elif isinstance(event, QuietRequested):
                await self._quiet(session, witness=witness, key=key, now=now)

        channel = self._channels[witness.channel]
        for reply in turn.replies:
            out = await messages.add_message(
                session,
                key=key,
                direction=Direction.OUT,
                text=reply.text,
                case_id=case.id if case and case.reference == turn.state.reference else None,
                reply_to_id=inbound_id,
                delivery=Delivery.SENT if channel.inline else Delivery.QUEUED,
                options=encode_options(reply.options, reply.prompt) if reply.options else None,
            )
            if not channel.inline:
                await messages.enqueue(session, message=out, channel=channel.name, now=now)
        if channel.keyboards and not witness.opted_out:
            # Keyboards of questions now closed are removed; toggles are redrawn.
            await keyboards.settle(
                session,
                key=key,
                witness_id=witness.id,
                channel=channel.name,
                current=open_question(turn.state),
                now=now,
            )
        if witness.opted_out and not turn.state.opted_out and channel.message_clears_opt_out:
            witnesses.set_opted_out(witness, False)
        await witnesses.touch(session, witness=witness)
        log.info(
            "witness %s: step=%s replies=%d events=%s",
            witness.alias,
            turn.state.step,
            len(turn.replies),
            ",".join(type(e).__name__ for e in turn.events) or "-",
        )
        return Receipt(
            replies=turn.replies,
            alias=witness.alias,
            opted_out=witness.opted_out,
            language=turn.state.language,
            alerted=any(isinstance(e, DangerReported | QuietRequested) for e in turn.events)
            or any(isinstance(e, CaseOpened | CaseAmended) and e.triage for e in turn.events),
        )

    async def _in_conversation(
        self, session: AsyncSession, case: Case | None, now: datetime
    ) -> bool:
        """Whether the case's caseworker is talking with the witness right now."""
        if case is None or case.status != CaseStatus.CLAIMED:
            return False
        since = now - self._conversation
        return await messages.caseworker_wrote_since(session, case_id=case.id, since=since)

    async def _open_case(
        self,
        session: AsyncSession,
        *,
        key: DataKey,
        event: CaseOpened,
        now: datetime,
        alert: bool = True,
    ) -> Case:
        case = await cases.open_case(
            session,
            key=key,
            reference=event.reference,
            queue=event.queue,
            priority=event.priority.value,
            language=event.language.value,
            needs=list(event.needs),
            answers=event.answers,
        )
        cases.set_due(case, due_at=self._targets.due(event.priority, now))
        await messages.attach_to_case(session, key=key, case_id=case.id)
        await audit.record(
            session, actor_kind=ActorKind.WITNESS, action=Action.OPENED, case_id=case.id
        )
        log.info("case %s opened in %s (%s)", case.reference, case.queue, case.priority)
        if event.triage:
            await self._danger(session, case=case, reasons=event.triage, now=now, alert=alert)
        return case

    async def _amend_case(
        self,
        session: AsyncSession,
        *,
        key: DataKey,
        case: Case,
        event: CaseAmended,
        now: datetime,
        alert: bool = True,
    ) -> None:
        cases.amend(
            case,
            key=key,
            queue=event.queue,
            priority=event.priority.value,
            needs=list(event.needs),
            answers=event.answers,
        )
        await messages.attach_to_case(session, key=key, case_id=case.id)
        await audit.record(
            session, actor_kind=ActorKind.WITNESS, action=Action.AMENDED, case_id=case.id
        )
        if event.triage:
            await self._danger(session, case=case, reasons=event.triage, now=now, alert=alert)

    async def _witness_wrote(self, session: AsyncSession, *, case: Case, now: datetime) -> None:
        await cases.note_witness_activity(session, case=case)
        if case.status == CaseStatus.CLOSED:
            # Nothing a witness writes is left unseen: a closed case goes back to its queue.
            cases.reopen(case, due_at=self._targets.due(Priority(case.priority), now))
            await audit.record(
                session, actor_kind=ActorKind.WITNESS, action=Action.REOPENED, case_id=case.id
            )
            log.info("case %s reopened by the witness", case.reference)

    async def _danger(
        self,
        session: AsyncSession,
        *,
        case: Case,
        reasons: tuple[str, ...],
        now: datetime,
        alert: bool = True,
    ) -> None:
        """Urgent at once, at the head of its queue, with its reasons, and staff alerted
        (unless a flood already alerted them of its danger: see bot/flood.py)."""
        danger = cases.add_triage(case, reasons)
        if case.priority != Priority.URGENT or danger:
            cases.raise_to_urgent(
                case, danger=danger, due_at=self._targets.due(Priority.URGENT, now)
            )
        await audit.record(
            session, actor_kind=ActorKind.WITNESS, action=Action.TRIAGED, case_id=case.id
        )
        log.info("case %s triaged urgent (%s)", case.reference, ",".join(reasons))
        if danger and alert and self._on_danger is not None:
            await self._on_danger(session, case, ",".join(reasons), now)

    async def _quiet(
        self, session: AsyncSession, *, witness: Witness, key: DataKey, now: datetime
    ) -> None:
        """EXIT: hold everything owed to the witness; where the channel allows (Telegram),
        empty their chat too."""
        await witnesses.pause(session, witness=witness, now=now)
        channel = self._channels[witness.channel]
        if channel.erase_window is not None:
            await messages.enqueue_erasure(
                session,
                vault=self._vault,
                witness_id=witness.id,
                channel=channel.name,
                address=witnesses.reply_address(witness, key),
                farewell=[],
                handles=await messages.recent_handles(
                    session, key=key, since=now - channel.erase_window
                ),
                now=now,
            )
        log.info("witness %s asked for quiet", witness.alias)

    async def _erase(
        self, session: AsyncSession, *, witness: Witness, key: DataKey, turn: Turn
    ) -> Receipt:
        channel = self._channels[witness.channel]
        now = self._clock()
        if not channel.inline or channel.forget_after is not None:
            # The farewell, the chat clean-up and the deletes at the provider must outlive
            # the data key: they travel sealed under the transit key, naming no one, and
            # are deleted once done. A provider's copies are looked up by address then
            # (the inline farewell and this very message among them), after its minute.
            await messages.enqueue_erasure(
                session,
                vault=self._vault,
                witness_id=witness.id,
                channel=channel.name,
                address=witnesses.reply_address(witness, key),
                farewell=[] if channel.inline else [reply.text for reply in turn.replies],
                handles=await messages.recent_handles(
                    session, key=key, since=now - channel.erase_window
                )
                if channel.erase_window is not None
                else [],
                now=now,
                at=now + channel.forget_after if channel.forget_after is not None else None,
            )
        await witnesses.erase_witness(session, vault=self._vault, witness_id=witness.id)
        log.info("witness %s erased their data", witness.alias)
        # Nothing of theirs can be stored any more, the farewell included.
        return Receipt(
            replies=turn.replies, alias=witness.alias, erased=True, language=turn.state.language
        )

    async def _repeat(
        self, session: AsyncSession, message_id: uuid.UUID, witness_id: uuid.UUID
    ) -> Receipt:
        """A provider retry: answer exactly as before and store nothing new."""
        witness = await session.get(Witness, witness_id)
        replies: list[Reply] = []
        if witness is not None and witness.erased_at is None:
            key = await witnesses.data_key_for(session, vault=self._vault, witness_id=witness_id)
            for out in await messages.replies_to(session, message_id=message_id):
                text = messages.open_body(out, key)
                if text is not None:
                    replies.append(Reply(text=text))
        alias = witness.alias if witness else None
        log.info("witness %s: duplicate delivery ignored", alias)
        return Receipt(replies=tuple(replies), alias=alias, duplicate=True)

    def _provider_key(self, message: InboundMessage) -> bytes | None:
        if message.provider_id is None:
            return None
        return messages.provider_key(
            self._vault, channel=message.channel, provider_id=message.provider_id
        )


def _wrote_to(turn: Turn, case: Case) -> bool:
    return any(isinstance(e, WitnessWrote) and e.reference == case.reference for e in turn.events)


async def _current_case(
    session: AsyncSession,
    *,
    witness_id: uuid.UUID,
    state: ConversationState | None,
    known: Known | None,
) -> Case | None:
    """The case the conversation last opened, if it still exists (`known` has the cases
    that existed when the batch began; one opened since is looked up)."""
    if state is None or state.reference is None:
        return None
    if known is not None and (
        found := known.case(witness_id=witness_id, reference=state.reference)
    ):
        return found
    return await cases.current(session, witness_id=witness_id, reference=state.reference)
