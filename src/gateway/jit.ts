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
//
// A compiled run answers as the standard executor would have: its field errors are rebuilt as the
// standard executor builds them (error-locations.ts), and variables it refuses go to the standard
// executor, since the two word, locate and answer (HTTP 400) such refusals differently. Otherwise a
// repeated query would answer differently from its first run, and tell that its text ran before.
import { useGraphQlJit } from '@envelop/graphql-jit';
import { BREAK, getNamedType, isScalarType, Kind, OperationTypeNode, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { locateFieldErrors } from './error-locations.js';

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

function isSubscription(document: DocumentNode): boolean {
  return document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === OperationTypeNode.SUBSCRIPTION);
}

export function compiledExecution(): Plugin {
  /** Per document: runs so far, then (from the second) whether it may be compiled. */
  const seen = new WeakMap<DocumentNode, number | boolean>();
  const jit = useGraphQlJit(
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
  const onExecute = jit.onExecute!;
  const answers = standardAnswers();
  return {
    ...jit,
    // graphql-jit sets its executor only for a compiled run; the one it replaces is the standard.
    onExecute: (payload) => onExecute({ ...payload, setExecuteFn: (compiled) => payload.setExecuteFn(answers(compiled, payload.executeFn)) }),
  };
}

type Execute = (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult>;

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as Partial<PromiseLike<T>>).then === 'function';
}

/** The compiled executor, answering as `standard` would (made once per pair of executors). */
function standardAnswers(): (compiled: Execute, standard: Execute) => Execute {
  let made: { compiled: Execute; standard: Execute; execute: Execute } | undefined;
  return (compiled, standard) => {
    if (made?.compiled === compiled && made.standard === standard) return made.execute;
    const answer = (args: ExecutionArgs, result: ExecutionResult): ExecutionResult | Promise<ExecutionResult> => {
      // No data: graphql-jit refused the variables (or could not compile the document) before
      // any resolver ran, so the standard executor can answer in its place.
      if (!('data' in result)) return standard(args);
      return result.errors?.length ? locateFieldErrors(args, result) : result;
    };
    const execute: Execute = (args) => {
      const result = compiled(args);
      return isThenable(result) ? Promise.resolve(result).then((done) => answer(args, done)) : answer(args, result);
    };
    made = { compiled, standard, execute };
    return execute;
  };
}
