// The owner's group tree arrives nested to a fixed depth (GraphQL has no recursion).
export type TreeNode<E> = { id: string; name: string; environments: E[]; children?: TreeNode<E>[] };

export function flatten<E>(roots: TreeNode<E>[], depth = 0, parent: string | null = null):
  { node: TreeNode<E>; depth: number; parent: string | null }[] {
  return roots.flatMap((node) => [
    { node, depth, parent },
    ...flatten(node.children ?? [], depth + 1, node.id),
  ]);
}

/** The ids of a group and everything below it (a group cannot move under these). */
export function descendants<E>(node: TreeNode<E>): Set<string> {
  return new Set(flatten([node]).map((x) => x.node.id));
}
