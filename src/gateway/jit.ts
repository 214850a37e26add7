// Compiled execution (graphql-jit through @envelop/graphql-jit): each operation document is
// compiled once into plain functions, which runs a page of events' fields several times faster
// than graphql-js walking the document for every object.
//
// graphql-jit evaluates literal argument values at compile time without the request's
// variables, and says so on stderr, for scalars whose parseLiteral reads variables (our JSON
// scalar: `{x: $v}` inside a literal). Documents with such a literal run on the standard executor
// instead, so their meaning never changes; everything else (operations that pass values as
// variables, as generated clients do) runs compiled.
//
// Only documents that come back are compiled: compiling costs more than one execution, and a
// client sending ever-new documents must not make the gateway compile for each of them. Yoga
// keeps parsed documents (up to 8 KiB, gateway/server.ts), so a repeated operation is the same
// DocumentNode and is compiled on its second run.
import { useGraphQlJit } from '@envelop/graphql-jit';
import { BREAK, getNamedType, GraphQLError, isScalarType, Kind, OperationTypeNode, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const LITERALS = new Set<string>([Kind.INT, Kind.FLOAT, Kind.STRING, Kind.BOOLEAN, Kind.NULL, Kind.ENUM, Kind.LIST, Kind.OBJECT]);

/** Does the document give a literal to a scalar whose parseLiteral takes the variables? */
export function hasVariableDependentLiteral(schema: GraphQLSchema, document: DocumentNode): boolean {
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      enter(node) {
        if (!LITERALS.has(node.kind)) return undefined;
        const type = typeInfo.getInputType();
        const named = type ? getNamedType(type) : undefined;
        if (named && isScalarType(named) && named.parseLiteral.length > 1) {
          found = true;
          return BREAK;
        }
        return undefined;
      },
    }),
  );
  return found;
}

export function compiledExecution(): Plugin {
  return {
    onPluginInit({ addPlugin }) {
      addPlugin(jitWhenRepeated());
      addPlugin(variableErrorsKeepTheirReason);
    },
  };
}

/**
 * graphql-jit reports a scalar variable that its parseValue refused as `Variable "$t" got invalid
 * value …; Expected type DateTime.` and keeps the scalar's own message (which says what is
 * wrong and what would be right) only as the original error; the standard executor puts it in
 * the message. Both executors must give the caller the same reason.
 */
const variableErrorsKeepTheirReason: Plugin = {
  onExecute() {
    return {
      onExecuteDone({ result, setResult }) {
        if (!('errors' in result) || !result.errors?.length) return;
        let changed = false;
        const errors = (result.errors as readonly GraphQLError[]).map((error): GraphQLError => {
          const reason = error.originalError?.message;
          if (!reason || !/^Variable "\$[^"]+" got invalid value .*Expected type [_A-Za-z0-9]+\.$/s.test(error.message) || error.message.includes(reason)) return error;
          changed = true;
          return new GraphQLError(`${error.message} ${reason}`, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions: error.extensions });
        });
        if (changed) setResult({ ...result, errors });
      },
    };
  },
};

function isSubscription(document: DocumentNode): boolean {
  return document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === OperationTypeNode.SUBSCRIPTION);
}

function jitWhenRepeated(): Plugin {
  /** Per document: runs so far, then (from the second) whether it may be compiled. */
  const seen = new WeakMap<DocumentNode, number | boolean>();
  return useGraphQlJit(
    {},
    {
      enableIf: ({ schema, document }) => {
        const state = seen.get(document);
        if (state === undefined) {
          seen.set(document, 1);
          return false;
        }
        if (typeof state === 'boolean') return state;
        // graphql-jit's subscribe drops the request's variables (Subscription.auditEvents saw none):
        // subscriptions run on the standard executor.
        const ok = !isSubscription(document) && !hasVariableDependentLiteral(schema, document);
        seen.set(document, ok);
        return ok;
      },
    },
  ) as Plugin;
}
