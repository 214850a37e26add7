// The query cost limit: the Pothos complexity model (builder.ts: every field costs 1, lists ×10,
// connections by their first/last), checked once per operation before any resolver runs.
//
// The Pothos plugin's own check (off in builder.ts) runs inside every root field's resolver and
// works the cost out from the document on every request: about 45 µs of a warm 20-event page in
// place, for a number that only changes with the document and the few variables the cost functions
// read (a connection's `first`, a nodes(ids:) list). Here the cost is remembered per document,
// operation and the values of exactly those variables.
import { complexityFromQuery } from '@pothos/plugin-complexity';
import { getVariableValues, GraphQLError, Kind, type ExecutionArgs, type VariableDefinitionNode, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { MAX_QUERY_DEPTH } from './limits.js';

/** A full 1000-event page with every field costs about 45k; a handful of aliased big pages do not fit. */
export const COMPLEXITY_LIMIT = { complexity: 100_000, depth: MAX_QUERY_DEPTH, breadth: 400 } as const;

interface Cost {
  complexity: number;
  depth: number;
  breadth: number;
}

/** What one operation of one document costs, by the values of the variables its cost reads. */
interface OperationCosts {
  /** The operation alone with the document's fragments (what complexityFromQuery measures). */
  document: DocumentNode;
  variableDefinitions: readonly VariableDefinitionNode[];
  /** Variables read by cost functions (arguments of fields whose complexity is a function). */
  costVariables: readonly string[];
  byValues: Map<string, Cost>;
}

/** Distinct variable values remembered per operation; past it, that operation's costs start over. */
const MAX_COSTS_PER_OPERATION = 256;

export function complexityLimit(limit: Cost = COMPLEXITY_LIMIT): Plugin {
  const documents = new WeakMap<DocumentNode, Map<string, OperationCosts | null>>();

  /** The operation's cost, or undefined when it cannot be worked out (execution reports why). */
  const costOf = (schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined, context: unknown): Cost | undefined => {
    let operations = documents.get(document);
    if (!operations) documents.set(document, (operations = new Map<string, OperationCosts | null>()));
    const name = operationName ?? '';
    let operation = operations.get(name);
    if (operation === undefined) {
      operation = prepare(schema, document, operationName);
      operations.set(name, operation);
    }
    if (operation === null) return undefined;
    // [value] for a variable given (null included), 0 for one left out (its default applies).
    const key = operation.costVariables.length === 0 ? '' : JSON.stringify(operation.costVariables.map((v) => (variables && Object.hasOwn(variables, v) ? [variables[v]] : 0)));
    const known = operation.byValues.get(key);
    if (known) return known;
    let cost: Cost;
    try {
      cost = complexityFromQuery(operation.document, { schema, variables: variables ?? {}, ctx: context as object });
    } catch (err) {
      // Variables that do not coerce: execution refuses them with its own errors, before any
      // resolver. Anything else fails closed (a masked unexpected error), never unlimited.
      if (getVariableValues(schema, operation.variableDefinitions, variables ?? {}).errors) return undefined;
      throw err;
    }
    if (operation.byValues.size >= MAX_COSTS_PER_OPERATION) operation.byValues.clear();
    operation.byValues.set(key, cost);
    return cost;
  };

  const check = ({ schema, document, operationName, variableValues, contextValue }: ExecutionArgs): GraphQLError | undefined => {
    const cost = costOf(schema, document, operationName, variableValues, contextValue);
    if (!cost) return undefined;
    const over =
      cost.depth > limit.depth
        ? `Query exceeds maximum depth (depth: ${cost.depth}, max: ${limit.depth})`
        : cost.breadth > limit.breadth
          ? `Query exceeds maximum breadth (breadth: ${cost.breadth}, max: ${limit.breadth})`
          : cost.complexity > limit.complexity
            ? `Query exceeds maximum complexity (complexity: ${cost.complexity}, max: ${limit.complexity})`
            : undefined;
    return over === undefined ? undefined : new GraphQLError(over, { extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } } });
  };

  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refused = check(args);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refused = check(args);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
  };
}

/** The operation with its fragments, and the variables its cost depends on; null if there is no such operation. */
function prepare(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): OperationCosts | null {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation) return null;
  const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  const alone: DocumentNode = operations.length === 1 ? document : { kind: Kind.DOCUMENT, definitions: [operation, ...fragments] };
  const costVariables = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  visit(
    alone,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (typeof typeInfo.getFieldDef()?.extensions?.complexity !== 'function') return;
        for (const argument of node.arguments ?? []) {
          visit(argument.value, {
            Variable(variable) {
              costVariables.add(variable.name.value);
            },
          });
        }
      },
    }),
  );
  return { document: alone, variableDefinitions: operation.variableDefinitions ?? [], costVariables: [...costVariables].sort(), byValues: new Map() };
}
