/**
 * The MCP adapter (style §3.6): the low-level SDK `Server` hosting a tier's toolkit. Effect Schemas are
 * the single source of truth for `inputSchema`/`outputSchema`; input is decoded strictly (unknown keys
 * are `InvalidInput`); each call runs on the captured runtime with `runPromiseExit` and the request's
 * abort signal; `Confirm` and `Progress` are provided per request. Nothing here writes to stdout except
 * the SDK transport.
 */
import { randomUUID } from "node:crypto"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
  Tool as McpToolDescriptor
} from "@modelcontextprotocol/sdk/types.js"
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { ConfirmationRequired, InvalidInput, toPayload, type ErrorPayload, type ToolError } from "@homelab-mcp/core/Errors"
import type { Tier } from "@homelab-mcp/core/Tier"
import type * as Tool from "@homelab-mcp/core/Tool"
import { Confirm, flagOnly, type ConfirmVia } from "@homelab-mcp/core/capabilities/Confirm"
import { Progress } from "@homelab-mcp/core/capabilities/Progress"
import * as JsonSchemas from "./internal/JsonSchemas.js"
import * as McpShell from "./McpShell.js"

/** Identity and behaviour of one MCP server instance. */
export interface Options {
  readonly name: string
  readonly version: string
  readonly tier: Tier
  /** Use MCP elicitation for the confirm gate when the client declares it (`MCP_CONFIRM_ELICIT`). */
  readonly elicit: boolean
  /** How long an elicitation waits for the human (`MCP_CONFIRM_ELICIT_TIMEOUT_MS`). */
  readonly elicitTimeoutMs: number
}

/** The services a call gets per request. */
export type RequestServices = Confirm | Progress

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

/** The MCP descriptor of a tool (what `tools/list` returns). */
export const descriptor = (contract: Tool.Contract<any, any>): McpToolDescriptor =>
  ({
    name: contract.name,
    title: contract.title,
    description: contract.description,
    inputSchema: JsonSchemas.strict(contract.input) as McpToolDescriptor["inputSchema"],
    outputSchema: JsonSchemas.outputSchema(contract.output) as McpToolDescriptor["outputSchema"],
    annotations: { title: contract.title, ...contract.annotations }
  }) as McpToolDescriptor

const textResult = (structured: Record<string, unknown>, isError: boolean): CallToolResult => ({
  content: [{ type: "text", text: JSON.stringify(structured) }],
  structuredContent: structured,
  ...(isError ? { isError: true } : {})
})

/** The `isError` result of a typed failure. */
export const errorResult = (error: ToolError): CallToolResult => textResult({ error: toPayload(error) }, true)

const genericFailure = (payload: ErrorPayload): CallToolResult => textResult({ error: payload }, true)

/** Maps a schema failure of the input to `InvalidInput` naming the first bad key and listing the accepted ones. */
export const invalidInput = (error: ParseResult.ParseError, inputJson: JsonSchemas.Json): InvalidInput => {
  const props = (inputJson["properties"] ?? {}) as Record<string, JsonSchemas.Json>
  const accepted = Object.keys(props)
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const seen = new Set<string>()
  const reasons: Array<string> = []
  let firstKey: string | undefined
  for (const issue of issues) {
    const key = issue.path.map(String).join(".")
    if (seen.has(key)) continue
    seen.add(key)
    firstKey ??= key === "" ? undefined : key
    const top = issue.path.length > 0 ? String(issue.path[0]) : undefined
    if (issue._tag === "Unexpected") {
      reasons.push(`Unknown parameter "${key}".`)
    } else if (issue._tag === "Missing") {
      reasons.push(`Missing required parameter "${key}" (expected ${JsonSchemas.describe(top === undefined ? undefined : props[top])}).`)
    } else if (top === undefined) {
      reasons.push("The arguments must be a JSON object.")
    } else {
      const actual = issue.message.match(/actual (.*)$/)
      reasons.push(
        `Parameter "${key}" must be ${issue.path.length === 1 ? JsonSchemas.describe(props[top]) : "valid"}${actual ? `, got ${actual[1]}` : ""}${issue.path.length === 1 ? "" : ` (${issue.message})`}.`
      )
    }
  }
  return new InvalidInput({
    reason: reasons.join(" "),
    ...(firstKey !== undefined ? { key: firstKey } : {}),
    accepted
  })
}

/** Rejects top-level keys the input schema does not declare (also for tools without parameters). */
export const unknownKeys = (args: Record<string, unknown>, inputJson: JsonSchemas.Json): Effect.Effect<void, InvalidInput> => {
  const accepted = Object.keys((inputJson["properties"] ?? {}) as Record<string, unknown>)
  const unknown = Object.keys(args).filter((k) => !accepted.includes(k))
  if (unknown.length === 0) return Effect.void
  return Effect.fail(
    new InvalidInput({
      reason: `${unknown.map((k) => `Unknown parameter "${k}".`).join(" ")}${accepted.length === 0 ? " This tool takes no parameters." : ""}`,
      key: unknown[0]!,
      accepted
    })
  )
}

/** A `Confirm` service for one request: elicitation when allowed and declared by the client, else the flag. */
export const confirmFor = (server: Server, options: Options, extra: Extra): Confirm.Service => {
  const canElicit = options.elicit && server.getClientCapabilities()?.elicitation !== undefined
  if (!canElicit) return flagOnly
  return {
    gate: (prompt) =>
      Effect.tryPromise({
        try: (signal) =>
          server.elicitInput(
            {
              mode: "form",
              message: prompt,
              requestedSchema: {
                type: "object",
                properties: { confirm: { type: "boolean", title: "Proceed?", description: prompt } },
                required: ["confirm"]
              }
            },
            { timeout: options.elicitTimeoutMs, signal: AbortSignal.any([signal, extra.signal]) }
          ),
        catch: () => new ConfirmationRequired({ prompt: `${prompt} (no answer from the user)`, declined: true })
      }).pipe(
        Effect.flatMap((answer) =>
          answer.action === "accept" && answer.content?.["confirm"] === true
            ? Effect.succeed<ConfirmVia>("elicitation")
            : Effect.fail(new ConfirmationRequired({ prompt, declined: true }))
        )
      )
  }
}

/** A `Progress` service for one request: notifications only when the client sent a progress token. */
export const progressFor = (progressToken: string | number | undefined, extra: Extra): Progress.Service => ({
  report: (progress, total, message) =>
    progressToken === undefined
      ? Effect.void
      : Effect.promise(() =>
          extra
            .sendNotification({
              method: "notifications/progress",
              params: { progressToken, progress, ...(total !== undefined ? { total } : {}), message }
            })
            .catch(() => undefined)
        )
})

interface Registered<R> {
  readonly tool: Tool.AnyTool<R>
  readonly descriptor: McpToolDescriptor
  readonly decode: (u: unknown) => Effect.Effect<any, ParseResult.ParseError>
  readonly encode: (a: unknown) => Effect.Effect<any, ParseResult.ParseError>
}

/**
 * The `tools/call` handler for `tools` on `server`, running each call on `runtime`: strict decoding,
 * per-request `Confirm`/`Progress`, typed failures as `isError` results, defects reported generically.
 */
export const callHandler = <R>(
  tools: ReadonlyArray<Tool.AnyTool<R>>,
  options: Options,
  runtime: Runtime.Runtime<Exclude<R, RequestServices>>,
  server: Server
): McpShell.CallHandler => {
  const registry = new Map<string, Registered<R>>()
  for (const tool of tools) {
    registry.set(tool.contract.name, {
      tool,
      descriptor: descriptor(tool.contract),
      decode: Schema.decodeUnknown(tool.contract.input, { onExcessProperty: "error", errors: "all" }),
      encode: Schema.encodeUnknown(tool.contract.output)
    })
  }
  return async (request, extra) => {
    const entry = registry.get(request.params.name)
    if (entry === undefined) {
      return errorResult(
        new InvalidInput({
          reason: `Unknown tool "${request.params.name}"; this server runs at tier ${options.tier}.`,
          key: "name",
          accepted: [...registry.keys()]
        })
      )
    }
    const inputJson = entry.descriptor.inputSchema as JsonSchemas.Json
    const progressToken = request.params._meta?.progressToken
    const args = request.params.arguments ?? {}
    const program = unknownKeys(args, inputJson).pipe(
      Effect.zipRight(entry.decode(args).pipe(Effect.mapError((e) => invalidInput(e, inputJson)))),
      Effect.flatMap((input) => entry.tool.handler(input)),
      Effect.flatMap((output) => Effect.orDie(entry.encode(output))),
      Effect.provideService(Confirm, confirmFor(server, options, extra)),
      Effect.provideService(Progress, progressFor(progressToken, extra)),
      Effect.withSpan(`tool.${entry.tool.contract.name}`)
    ) as Effect.Effect<Record<string, unknown>, ToolError, Exclude<R, RequestServices>>
    const exit = await Runtime.runPromiseExit(runtime)(program, { signal: extra.signal })
    return toResult(exit, entry.tool.contract.name, runtime)
  }
}

/** The descriptors of `tools`, in registration order (what `tools/list` returns). */
export const descriptors = (tools: ReadonlyArray<Tool.AnyTool<any>>): ReadonlyArray<McpToolDescriptor> =>
  tools.map((t) => descriptor(t.contract))

/**
 * Builds an SDK `Server` serving exactly `tools`; its handlers run on the current runtime, so the
 * Effect's requirements are the tools' requirements minus the per-request services.
 */
export const make = <R>(
  tools: ReadonlyArray<Tool.AnyTool<R>>,
  options: Options
): Effect.Effect<Server, never, Exclude<R, RequestServices>> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<Exclude<R, RequestServices>>()
    const server = McpShell.createServer(options)
    const list = descriptors(tools)
    McpShell.install(server, () => list, callHandler(tools, options, runtime, server))
    return server
  })

const toResult = <R>(
  exit: Exit.Exit<Record<string, unknown>, ToolError>,
  tool: string,
  runtime: Runtime.Runtime<R>
): CallToolResult => {
  if (Exit.isSuccess(exit)) return textResult(exit.value, false)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) return errorResult(failure.value)
  const opId = randomUUID()
  if (Cause.isInterruptedOnly(exit.cause)) {
    return genericFailure({
      code: "Internal",
      message: `The call was cancelled before it finished (op ${opId}); its outcome is unknown.`,
      hint: "Check the target's state before retrying.",
      retryable: false,
      details: { opId }
    })
  }
  Runtime.runFork(runtime)(
    Effect.logError(`defect in ${tool} (op ${opId})`, exit.cause).pipe(Effect.annotateLogs({ opId, tool }))
  )
  return genericFailure({
    code: "Internal",
    message: `Unexpected internal error (op ${opId}).`,
    hint: "Run `homelab-mcp doctor`; report the op id if it persists.",
    retryable: false,
    details: { opId }
  })
}

/** Connects `server` to `transport` for the life of the scope (closed on release). */
export const connect = (server: Server, transport: Transport): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => server.connect(transport)),
    () => Effect.promise(() => server.close().catch(() => undefined))
  )
