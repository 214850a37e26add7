// Field errors of a compiled (graphql-jit) execution, made as the standard executor makes them.
//
// graphql-jit gives a field error only `locations` and `path`, while yoga writes every error out
// anew from its nodes (or source and positions): without nodes, an error reaches the client
// without locations. The standard executor gives each field error the field nodes (graphql's
// locatedError). And where jit finds a value the schema forbids (null for a non-null field, a leaf
// its type cannot serialize) it makes an error of its own wording with no original error, which
// yoga's masking lets through; the standard executor raises a plain Error there, which is masked
// as an unexpected error and logged. (jit's other errors of its own, a runtime type not in the
// union or a list that is not one, are worded differently by the standard executor; they are
// masked here too, which only matters for a resolver that breaks the schema.)
//
// So each field error is rebuilt with locatedError from what the standard executor would have
// had: the error the resolver raised (jit keeps it as the original error), or else a plain Error
// with jit's message, and the field nodes the error's path names.
import {
  getDirectiveValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isAbstractType,
  isObjectType,
  Kind,
  locatedError,
  typeFromAST,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type InlineFragmentNode,
  type SelectionNode,
  type SelectionSetNode,
  type SourceLocation,
} from 'graphql';

type ResponsePath = readonly (string | number)[];

/** The result with each field error (one with a path) rebuilt as the standard executor builds it. */
export function locateFieldErrors(args: ExecutionArgs, result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  let walk: Walk | null | undefined;
  const errors = result.errors.map((error): GraphQLError => {
    if (!Array.isArray(error.path)) return error;
    walk ??= walkOf(args);
    const nodes = walk ? fieldNodesAt(walk, error.path, error.locations) : undefined;
    // A thrown non-Error is an Error with its text (the standard executor's coerceError).
    const original = error.originalError instanceof Error ? error.originalError : new Error(error.message);
    return locatedError(original, nodes, error.path);
  });
  return { ...result, errors };
}

interface Walk {
  schema: GraphQLSchema;
  root: GraphQLObjectType;
  selectionSet: SelectionSetNode;
  fragments: Map<string, FragmentDefinitionNode>;
  /** The request's variables, coerced (as @skip/@include read them) on first use. */
  variables: () => Record<string, unknown>;
}

function walkOf({ schema, document, operationName, variableValues }: ExecutionArgs): Walk | null {
  const operation = getOperationAST(document, operationName);
  const root = operation && schema.getRootType(operation.operation);
  if (!operation || !root) return null;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  let variables: Record<string, unknown> | undefined;
  const coerce = (): Record<string, unknown> => {
    const given = variableValues ?? {};
    return (variables ??= getVariableValues(schema, operation.variableDefinitions ?? [], given).coerced ?? given);
  };
  return { schema, root, selectionSet: operation.selectionSet, fragments, variables: coerce };
}

/**
 * The field nodes merged under the path's last response key, as the standard executor collects
 * them (@graphql-tools/utils collectFields): list indexes are skipped, fragments apply by the type
 * of the object they select on. Under an abstract type each possible type is followed; when they
 * name different nodes, the ones whose locations jit gave (all it collected for that type,
 * @skip/@include aside) decide. Undefined when the path names no field, or stays ambiguous.
 */
function fieldNodesAt(walk: Walk, path: ResponsePath, hint: readonly SourceLocation[] | undefined): FieldNode[] | undefined {
  const found: FieldNode[][] = [];
  follow(walk, [walk.root], [walk.selectionSet], path, nextKey(path, 0), found);
  if (found.length <= 1) return found[0];
  if (!hint?.length) return undefined;
  const fitting = found.filter((nodes) => nodes.every((node) => node.loc && hint.some((l) => l.line === node.loc!.startToken.line && l.column === node.loc!.startToken.column)));
  const most = Math.max(0, ...fitting.map((nodes) => nodes.length));
  const best = fitting.filter((nodes) => nodes.length === most);
  return best.length === 1 ? best[0] : undefined;
}

/** Index of the first response key (not a list index) at or after `from`, or -1. */
function nextKey(path: ResponsePath, from: number): number {
  for (let i = from; i < path.length; i++) if (typeof path[i] === 'string') return i;
  return -1;
}

/** Adds to `found` every distinct node list the path from `at` names, for objects of any of `types`. */
function follow(walk: Walk, types: readonly GraphQLObjectType[], selectionSets: readonly SelectionSetNode[], path: ResponsePath, at: number, found: FieldNode[][]): void {
  if (at < 0) return;
  const key = path[at] as string;
  const next = nextKey(path, at + 1);
  const followed: Array<{ nodes: FieldNode[]; type: GraphQLNamedType }> = [];
  for (const type of types) {
    const nodes = collect(walk, type, selectionSets, key);
    if (nodes.length === 0) continue;
    if (next < 0) {
      if (!found.some((other) => sameNodes(other, nodes))) found.push(nodes);
      continue;
    }
    const field = type.getFields()[nodes[0]!.name.value];
    if (!field) continue;
    const named = getNamedType(field.type);
    // Possible types selecting the same nodes of the same type lead to the same places.
    if (followed.some((f) => f.type === named && sameNodes(f.nodes, nodes))) continue;
    followed.push({ nodes, type: named });
    const subTypes = isAbstractType(named) ? walk.schema.getPossibleTypes(named) : isObjectType(named) ? [named] : [];
    const subSets = nodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
    follow(walk, subTypes, subSets, path, next, found);
  }
}

/** The field nodes under response key `key` in these selection sets, for an object of `type`. */
function collect(walk: Walk, type: GraphQLObjectType, selectionSets: readonly SelectionSetNode[], key: string): FieldNode[] {
  const nodes: FieldNode[] = [];
  const visited = new Set<string>();
  const visit = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (!included(walk, selection)) continue;
      if (selection.kind === Kind.FIELD) {
        if ((selection.alias ?? selection.name).value === key) nodes.push(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (applies(walk.schema, selection, type)) visit(selection.selectionSet);
      } else {
        const name = selection.name.value;
        if (visited.has(name)) continue;
        const fragment = walk.fragments.get(name);
        if (!fragment || !applies(walk.schema, fragment, type)) continue;
        visited.add(name);
        visit(fragment.selectionSet);
      }
    }
  };
  for (const selectionSet of selectionSets) visit(selectionSet);
  return nodes;
}

function included(walk: Walk, node: SelectionNode): boolean {
  if (!node.directives?.length) return true;
  const variables = walk.variables();
  if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.['if'] === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.['if'] !== false;
}

function applies(schema: GraphQLSchema, fragment: InlineFragmentNode | FragmentDefinitionNode, type: GraphQLObjectType): boolean {
  if (!fragment.typeCondition) return true;
  const condition = typeFromAST(schema, fragment.typeCondition);
  if (condition === type) return true;
  return condition !== undefined && isAbstractType(condition) && schema.isSubType(condition, type);
}

function sameNodes(a: readonly FieldNode[], b: readonly FieldNode[]): boolean {
  return a.length === b.length && a.every((node, i) => node === b[i]);
}
