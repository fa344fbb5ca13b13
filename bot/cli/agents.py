"""`sadar agents …`: Perisai agents."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.app_context import get_app_context

if TYPE_CHECKING:
    pass


agents_app = typer.Typer(
    help="Perisai agents (enrolled here, never by chat).", no_args_is_help=True
)


@agents_app.command("add")
def agents_add(
    name: str = typer.Option(..., help="the agent's name"),
    phone: str = typer.Option(..., help="WhatsApp number, e.g. 0812… or +62812…"),
    village: str = typer.Option(..., help="the agent's village (imported with `villages import`)"),
    telegram_id: int = typer.Option(None, help="Telegram user id, if the agent uses Telegram"),
) -> None:
    """Enrol a Perisai agent; they are recognised by this phone (WhatsApp) and Telegram id."""
    from bot.services.agents import AgentProblem, enrol_agent
    from bot.services.imports import find_village
    from nlu.parsing.identifiers import normalise_phone

    context = get_app_context()
    number = normalise_phone(phone)
    if number is None:
        raise typer.BadParameter(f"{phone!r} is not an Indonesian mobile number")
    found = find_village(context.unit_of_work(), village)
    if found is None:
        raise typer.BadParameter(
            f"village {village!r} is not known (or not unique): import it first with "
            "`sadar villages import villages.csv`"
        )
    try:
        agent_id = enrol_agent(
            context.unit_of_work(),
            context.cipher,
            context.hash_key,
            name=name,
            phone=number,
            village=found.name,
            district=found.district,
            regency=found.regency,
            telegram_user_id=telegram_id,
        )
    except AgentProblem as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(
        f"agent {agent_id} enrolled: {name}, {found.name} ({found.district}, {found.regency})"
    )


@agents_app.command("list")
def agents_list() -> None:
    """All agents, phone numbers masked."""
    from bot.services.agents import list_agents

    context = get_app_context()
    for agent in list_agents(context.unit_of_work(), context.cipher):
        state = "active" if agent.active else "SUSPENDED"
        telegram = "tg" if agent.telegram else "  "
        typer.echo(
            f"{agent.id:>4}  {agent.name:<28} {agent.phone:<16} wa {telegram}  "
            f"{agent.village}, {agent.district}, {agent.regency}  {state}"
        )


@agents_app.command("suspend")
def agents_suspend(agent_id: int = typer.Argument(..., help="id from `sadar agents list`")) -> None:
    """Take an agent's powers away at once (their registrations stay)."""
    from bot.services.agents import AgentProblem, suspend_agent

    try:
        context = get_app_context()
        suspend_agent(context.unit_of_work(), agent_id, context.clock.now())
    except AgentProblem as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(f"agent {agent_id} suspended")


@agents_app.command("disputes")
def agents_disputes() -> None:
    """Disputes ("sengketa NIK") outside the requesting agent's village, waiting for an
    administrator (references only)."""
    from bot.services.disputes import pending_disputes

    context = get_app_context()
    waiting = pending_disputes(context.unit_of_work())
    if not waiting:
        typer.echo("no dispute waits for approval")
    for dispute in waiting:
        typer.echo(
            f"{dispute.id:>4}  {dispute.reference}  by agent {dispute.agent_id} "
            f"({dispute.agent_name}, {dispute.agent_village})  "
            f"{dispute.created_at:%Y-%m-%d %H:%M} UTC"
        )


@agents_app.command("decide-dispute")
def agents_decide_dispute(
    dispute_id: int = typer.Argument(..., help="id from `sadar agents disputes`"),
    approve: bool = typer.Option(
        ..., "--approve/--refuse", help="release the registration, or keep it"
    ),
) -> None:
    """Release a disputed registration of another village (its holder, the village's agents
    and the requesting agent are told), or refuse (the requesting agent is told)."""
    import asyncio

    from bot import bootstrap, messages
    from bot.services.disputes import DisputeResult, approve_dispute, tell_release
    from bot.services.resident_notices import send_in_window

    context = get_app_context()
    outcome = approve_dispute(
        context.unit_of_work(), context.cipher, dispute_id, approve, context.clock.now()
    )
    if outcome.result is DisputeResult.EXPIRED:
        raise typer.BadParameter(f"no dispute {dispute_id} waits for approval")

    async def tell() -> None:
        outbox = bootstrap.build_outbox(context)
        try:
            reference = outcome.reference or ""
            if outcome.notice is not None:
                await tell_release(outbox, context.channel_log, outcome.notice, context.clock.now())
            requester = outcome.requester_address
            if requester is not None:
                text = (
                    messages.DISPUTE_APPROVED_FOR_REQUESTER
                    if outcome.result is DisputeResult.RELEASED
                    else messages.DISPUTE_REFUSED_FOR_REQUESTER
                ).format(reference=reference)
                await send_in_window(
                    outbox,
                    context.channel_log,
                    requester,
                    text,
                    context.clock.now(),
                    "dispute_notice",
                )
        finally:
            await outbox.aclose()

    asyncio.run(tell())
    typer.echo(f"dispute {dispute_id} ({outcome.reference}): {outcome.result.value}")
