"""The environment-group tree of an owner: create, rename, move, delete, place environments.

Managing the tree belongs to the owner alone. A change that alters what members see
tells them (live `sharedWithMeChanged`, and share-notification emails when environments
may have become newly visible) and is audited as a sharing change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from domain import access, audit, outbox, sharing, user_text
from domain.environments import ancestry, members_reached, refuse_foreign
from domain.errors import conflict, invalid_state, not_found, validation
from domain.previews import AccessEffect
from models import (
    Account,
    Environment,
    EnvironmentGroup,
    EnvironmentStatus,
    GroupEnvironment,
    Member,
    Share,
)

MAX_NAME = 80


def check_name(name: str, field: str = "name") -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise validation("Give the group a name", field)
    if len(cleaned) > MAX_NAME:
        raise validation(f"At most {MAX_NAME} characters", field)
    return user_text.check_name(cleaned, field)


async def owned_group(
    caller: Account, group_id: uuid.UUID | None, field: str, action: str
) -> EnvironmentGroup:
    group = await EnvironmentGroup.get_or_none(id=group_id) if group_id else None
    if group is None:
        raise not_found("Environment group", field)
    if group.owner_id != caller.id:
        raise await refuse_foreign(
            caller, group.owner_id, action, "EnvironmentGroup", group.id, field
        )
    return group


async def owned_environment(
    caller: Account, environment_id: uuid.UUID | None, action: str
) -> Environment:
    env = await Environment.get_or_none(id=environment_id) if environment_id else None
    if env is None:
        raise not_found("Environment", "environmentId")
    if env.owner_id != caller.id:
        raise await refuse_foreign(
            caller, env.owner_id, action, "Environment", env.id, "environmentId", env.id
        )
    if env.status is EnvironmentStatus.DELETED:
        raise invalid_state("The environment is deleted")
    return env


async def _check_sibling_free(
    owner_id: uuid.UUID, parent_id: uuid.UUID | None, name: str, except_id: uuid.UUID | None
) -> None:
    query = EnvironmentGroup.filter(owner_id=owner_id, parent_slot=_slot(parent_id), name=name)
    if except_id is not None:
        query = query.exclude(id=except_id)
    if await query.exists():
        raise conflict("A group with this name already exists here", "name")


def _slot(parent_id: uuid.UUID | None) -> str:
    return str(parent_id) if parent_id else ""


async def _save(group: EnvironmentGroup, fields: list[str]) -> None:
    try:
        await group.save(update_fields=fields)
    except IntegrityError:
        raise conflict("A group with this name already exists here", "name") from None


async def _announce(
    owner: Account,
    group_ids: set[uuid.UUID],
    action: str,
    *,
    newly_visible: bool,
    target: EnvironmentGroup | Environment,
) -> None:
    """Tell the ACTIVE members whose shares reach these groups; audit it if any."""
    parents, _ = await access.load_tree(owner.id)
    reached = await members_reached(owner.id, ancestry(parents, group_ids))
    if not reached:
        return
    if newly_visible:  # emails for newly visible environments, plus the live push
        for member in reached:
            await sharing.shares_changed(member, owner.id, action)
    else:
        outbox.notify([m.account_id for m in reached], action, owner.id)
    is_env = isinstance(target, Environment)
    await audit.record(
        owner_id=owner.id, actor_id=owner.id, action=action,
        target_type="Environment" if is_env else "EnvironmentGroup", target_id=target.id,
        environment_id=target.id if is_env else None,
        detail={"groups": sorted(str(g) for g in group_ids),
                "members": [str(m.id) for m in reached]},
    )  # fmt: skip


async def create(owner: Account, name: str, parent_id: uuid.UUID | None, parent_given: bool
                 ) -> EnvironmentGroup:  # fmt: skip
    parent = None
    if parent_given:
        parent = await owned_group(owner, parent_id, "parentId", "group.create")
    cleaned = check_name(name)
    await _check_sibling_free(owner.id, parent.id if parent else None, cleaned, None)
    try:
        return await EnvironmentGroup.create(
            id=uuid.uuid4(), owner_id=owner.id, parent_id=parent.id if parent else None,
            parent_slot=_slot(parent.id if parent else None), name=cleaned,
        )  # fmt: skip
    except IntegrityError:
        raise conflict("A group with this name already exists here", "name") from None


async def rename(owner: Account, group_id: uuid.UUID | None, name: str) -> EnvironmentGroup:
    group = await owned_group(owner, group_id, "id", "group.rename")
    cleaned = check_name(name)
    if cleaned == group.name:
        return group
    await _check_sibling_free(owner.id, group.parent_id, cleaned, group.id)
    group.name = cleaned
    await _save(group, ["name", "updated_at"])
    parents, _ = await access.load_tree(owner.id)
    reached = await members_reached(owner.id, ancestry(parents, {group.id}))
    outbox.notify([m.account_id for m in reached], "group.rename", owner.id)
    return group


def _descendants_and_self(
    parents: dict[uuid.UUID, uuid.UUID | None], group_id: uuid.UUID
) -> set[uuid.UUID]:
    children: dict[uuid.UUID | None, list[uuid.UUID]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    result, todo = set(), [group_id]
    while todo:
        current = todo.pop()
        if current not in result:
            result.add(current)
            todo.extend(children.get(current, []))
    return result


@dataclass
class MovePlan:
    """`moveEnvironmentGroup`, validated and not yet written."""

    owner: Account
    group: EnvironmentGroup
    new_parent_id: uuid.UUID | None
    parents: dict[uuid.UUID, uuid.UUID | None]  # the tree before the move

    @property
    def effect(self) -> AccessEffect:
        group_id, new_parent = self.group.id, self.new_parent_id

        def moved(tree: access.Tree) -> access.Tree:
            parents, env_groups = tree
            return {**parents, group_id: new_parent}, env_groups

        def placed_below(tree: access.Tree) -> list[uuid.UUID]:
            below = _descendants_and_self(tree[0], group_id)
            return [env for env, held_by in tree[1].items() if held_by & below]

        return AccessEffect(self.owner.id, tree=moved, environments=placed_below)

    async def apply(self) -> EnvironmentGroup:
        group, owner, new_parent_id = self.group, self.owner, self.new_parent_id
        if new_parent_id == group.parent_id:
            return group
        old_parent_id = group.parent_id
        group.parent_id, group.parent_slot = new_parent_id, _slot(new_parent_id)
        await _save(group, ["parent_id", "parent_slot", "updated_at"])
        touched = {g for g in (old_parent_id, new_parent_id) if g is not None}
        # The old chain is computed on the tree before the move, the new one after it.
        old_chain = ancestry(self.parents, {old_parent_id} if old_parent_id else set())
        await _announce(owner, touched | old_chain, "group.move", newly_visible=True, target=group)
        return group


async def plan_move(
    owner: Account, group_id: uuid.UUID | None, parent_id: uuid.UUID | None, parent_given: bool
) -> MovePlan:
    """`parentId: null` moves to the top; under itself or a descendant is refused."""
    group = await owned_group(owner, group_id, "id", "group.move")
    parent = await owned_group(owner, parent_id, "parentId", "group.move") if parent_given else None
    new_parent_id = parent.id if parent else None
    if new_parent_id == group.parent_id:
        return MovePlan(owner, group, new_parent_id, {})
    parents, _ = await access.load_tree(owner.id)
    if new_parent_id is not None and new_parent_id in _descendants_and_self(parents, group.id):
        raise validation("A group cannot move under itself or its descendants", "parentId")
    await _check_sibling_free(owner.id, new_parent_id, group.name, group.id)
    return MovePlan(owner, group, new_parent_id, parents)


async def move(
    owner: Account, group_id: uuid.UUID | None, parent_id: uuid.UUID | None, parent_given: bool
) -> EnvironmentGroup:
    return await (await plan_move(owner, group_id, parent_id, parent_given)).apply()


async def delete(owner: Account, group_id: uuid.UUID | None) -> EnvironmentGroup:
    """Only an empty group: no child groups and no live environments."""
    group = await owned_group(owner, group_id, "id", "group.delete")
    if await EnvironmentGroup.exists(parent_id=group.id):
        raise invalid_state("The group has child groups; move or delete them first")
    live = await GroupEnvironment.filter(
        group_id=group.id, environment__status__not=EnvironmentStatus.DELETED
    ).exists()
    if live:
        raise invalid_state("The group holds environments; remove them first")
    share_members = set(await Share.filter(group_id=group.id).values_list("member_id", flat=True))
    if share_members:
        account_ids = await Member.filter(id__in=list(share_members)).values_list(
            "account_id", flat=True
        )
        outbox.notify(list(account_ids), "group.delete", owner.id)
        await audit.record(
            owner_id=owner.id, actor_id=owner.id, action="group.delete",
            target_type="EnvironmentGroup", target_id=group.id,
            detail={"name": group.name, "members": sorted(str(m) for m in share_members)},
        )  # fmt: skip
    await Share.filter(group_id=group.id).delete()
    await GroupEnvironment.filter(group_id=group.id).delete()
    await group.delete()
    return group


@dataclass
class PlacementPlan:
    """`addEnvironmentToGroup` (`add`) or `removeEnvironmentFromGroup`, validated and not
    yet written."""

    owner: Account
    environment: Environment
    group: EnvironmentGroup
    add: bool

    @property
    def effect(self) -> AccessEffect:
        env_id, group_id, add = self.environment.id, self.group.id, self.add

        def placed(tree: access.Tree) -> access.Tree:
            parents, env_groups = tree
            held_by = set(env_groups.get(env_id, ()))
            held_by = (held_by | {group_id}) if add else (held_by - {group_id})
            return parents, {**env_groups, env_id: held_by}

        return AccessEffect(self.owner.id, tree=placed, environments=lambda _: [env_id])

    async def apply(self) -> Environment:
        env, group, owner = self.environment, self.group, self.owner
        if self.add:
            if await GroupEnvironment.exists(group_id=group.id, environment_id=env.id):
                return env
            await GroupEnvironment.create(id=uuid.uuid4(), group_id=group.id, environment_id=env.id)
            await _announce(owner, {group.id}, "group.add_environment", newly_visible=True,
                            target=env)  # fmt: skip
            return env
        removed = await GroupEnvironment.filter(group_id=group.id, environment_id=env.id).delete()
        if removed:
            await _announce(owner, {group.id}, "group.remove_environment", newly_visible=False,
                            target=env)  # fmt: skip
        return env


async def plan_placement(
    owner: Account, environment_id: uuid.UUID | None, group_id: uuid.UUID | None, *, add: bool
) -> PlacementPlan:
    action = "group.add_environment" if add else "group.remove_environment"
    env = await owned_environment(owner, environment_id, action)
    group = await owned_group(owner, group_id, "groupId", action)
    return PlacementPlan(owner, env, group, add)


async def add_environment(
    owner: Account, environment_id: uuid.UUID | None, group_id: uuid.UUID | None
) -> Environment:
    return await (await plan_placement(owner, environment_id, group_id, add=True)).apply()


async def remove_environment(
    owner: Account, environment_id: uuid.UUID | None, group_id: uuid.UUID | None
) -> Environment:
    return await (await plan_placement(owner, environment_id, group_id, add=False)).apply()
