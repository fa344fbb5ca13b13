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
