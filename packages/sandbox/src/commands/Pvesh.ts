/**
 * `pvesh get|create|set|delete <path> [--k v] [--output-format text|json|json-pretty]` (sandbox.md
 * §5.1): API handlers as `root@pam`. The guest-agent endpoints (`file-read`, `file-write`, `exec`,
 * `exec-status`, `ping` and the informational ones) and a few read endpoints are served here from the
 * shared state; anything else goes to the API core when `Machines` was given one (`options.api`).
 * `json` = compact, sorted keys, newline, no `data` wrapper; `null` prints nothing. Unknown path →
 * `no '<verb>' handler for '<path>'`, API error → `<code> <msg>` (500: the bare message), both 255.
 */
import * as Effect from "effect/Effect"
import { defineCommand, type Command, type ExecResult } from "just-bash"
import { handleApi, ROOT_CALLER } from "../api/ApiCore.js"
import { HANDLERS } from "../api/Handlers.js"
import type { LabState } from "../state/LabState.js"
import type { Machines } from "../machines/Machines.js"
import * as Agent from "./Agent.js"
import { perlPretty, sortedJson } from "./PveCli.js"
import { fail, ok } from "./Result.js"

/** Answer of an API handler: data, or an error with status and message. */
export type ApiAnswer =
  | { readonly _tag: "ok"; readonly data: unknown }
  | { readonly _tag: "error"; readonly status: number; readonly message: string; readonly errors?: Record<string, string> }

/** Optional API core (socket-free) pvesh falls back to; undefined = no handler. */
export type ApiCore = (method: "GET" | "POST" | "PUT" | "DELETE", path: string, params: Record<string, string | ReadonlyArray<string>>) => Promise<ApiAnswer | undefined>

/** The sandbox's own API core (socket-free `handleApi`) as `root@pam`, for everything else. */
export const apiCore =
  (lab: LabState): ApiCore =>
  async (method, path, params) => {
    const form = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v as string]) form.append(k, x)
    const query = form.toString()
    const bodyless = method === "GET" || method === "DELETE"
    const res = await Effect.runPromise(
      handleApi(
        lab,
        {
          method,
          url: `/api2/json${path}${bodyless && query ? `?${query}` : ""}`,
          headers: bodyless ? {} : { "content-type": "application/x-www-form-urlencoded" },
          ...(bodyless ? {} : { body: query })
        },
        { handlers: HANDLERS, as: ROOT_CALLER }
      )
    )
    if (res.status === 501 && /not implemented/.test(res.reason)) return undefined
    let parsed: { data?: unknown; message?: string; errors?: Record<string, string> } = {}
    try {
      parsed = res.body ? (JSON.parse(res.body) as typeof parsed) : {}
    } catch {
      parsed = {}
    }
    if (res.status === 200) return { _tag: "ok", data: parsed.data ?? null }
    return { _tag: "error", status: res.status, message: parsed.message ?? res.reason, ...(parsed.errors ? { errors: parsed.errors } : {}) }
  }

const VERBS = { get: "GET", create: "POST", set: "PUT", delete: "DELETE" } as const

const bool = (v: string | undefined, dflt: boolean) => (v === undefined ? dflt : v === "1" || v === "true")

/** The agent and read endpoints pvesh serves from state. */
const local = async (lab: LabState, machines: Machines, method: string, path: string, params: Record<string, string | ReadonlyArray<string>>): Promise<ApiAnswer | undefined> => {
  const str = (k: string) => {
    const v = params[k]
    return Array.isArray(v) ? v[0] : (v as string | undefined)
  }
  const agent = /^\/nodes\/([^/]+)\/qemu\/(\d+)\/agent\/([\w-]+)$/.exec(path)
  if (agent) {
    const vmid = Number(agent[2])
    const cmd = agent[3]!
    try {
      if (cmd === "file-read" && method === "GET") {
        const file = str("file")
        if (file === undefined) return { _tag: "error", status: 400, message: "Parameter verification failed.", errors: { file: "property is missing and it is not optional" } }
        const count = str("count")
        const offset = str("offset")
        if (count !== undefined && !/^\d+$/.test(count)) return { _tag: "error", status: 400, message: "Parameter verification failed.", errors: { count: `type check ('integer') failed - got '${count}'` } }
        return {
          _tag: "ok",
          data: await Agent.fileRead(lab, machines, vmid, {
            file,
            ...(offset !== undefined ? { offset: Number(offset) } : {}),
            ...(count !== undefined ? { count: Number(count) } : {}),
            decode: bool(str("decode"), true)
          })
        }
      }
      if (cmd === "file-write" && method === "POST") {
        const file = str("file")
        const content = str("content")
        const errors: Record<string, string> = {}
        if (file === undefined) errors["file"] = "property is missing and it is not optional"
        if (content === undefined) errors["content"] = "property is missing and it is not optional"
        if (Object.keys(errors).length > 0) return { _tag: "error", status: 400, message: "Parameter verification failed.", errors }
        return { _tag: "ok", data: await Agent.fileWrite(lab, machines, vmid, { file: file!, content: content!, encode: bool(str("encode"), true) }) }
      }
      if (cmd === "exec" && method === "POST") {
        const command = params["command"]
        const argv = command === undefined ? [] : Array.isArray(command) ? command : [command as string]
        if (argv.length === 0) return { _tag: "error", status: 400, message: "Parameter verification failed.", errors: { command: "property is missing and it is not optional" } }
        const input = str("input-data")
        return { _tag: "ok", data: Agent.exec(lab, machines, vmid, { command: argv, ...(input !== undefined ? { inputData: input } : {}) }) }
      }
      if (cmd === "exec-status" && method === "GET") return { _tag: "ok", data: Agent.execStatus(lab, vmid, Number(str("pid"))) }
      const readOnly = ["info", "get-osinfo", "get-host-name", "get-fsinfo", "network-get-interfaces", "get-time", "get-timezone", "get-users", "get-vcpus", "get-memory-blocks", "get-memory-block-info"]
      if ((method === "GET" && readOnly.includes(cmd)) || (method === "POST" && !readOnly.includes(cmd))) {
        return { _tag: "ok", data: { result: (await Agent.command(lab, machines, vmid, cmd)) ?? {} } }
      }
      return undefined
    } catch (e) {
      if (e instanceof Agent.AgentError) return { _tag: "error", status: e.status, message: e.message, ...(e.errors ? { errors: e.errors } : {}) }
      throw e
    }
  }
  if (method !== "GET") return undefined
  if (path === "/version") return { _tag: "ok", data: { version: "9.1.1", release: "9.1", repoid: "f4d3f125ffae50e9" } }
  const list = /^\/nodes\/([^/]+)\/(lxc|qemu)$/.exec(path)
  if (list && list[1] === lab.nodeName) {
    const type = list[2] as "lxc" | "qemu"
    return {
      _tag: "ok",
      data: lab.listGuests(type).map((g) => {
        const m = lab.guestMetrics(g)
        return { vmid: g.vmid, name: lab.guestName(g), status: g.status, ...(type === "lxc" ? { type: "lxc" } : {}), cpus: m.cpus, maxmem: m.maxmem, maxdisk: m.maxdisk, uptime: m.uptime, ...(g.pid !== undefined ? { pid: g.pid } : {}) }
      })
    }
  }
  const cfg = /^\/nodes\/([^/]+)\/(lxc|qemu)\/(\d+)\/config$/.exec(path)
  if (cfg && cfg[1] === lab.nodeName) {
    const g = lab.getGuest(Number(cfg[3]))
    if (!g || g.type !== cfg[2]) return { _tag: "error", status: 500, message: lab.missingConfigMessage(Number(cfg[3]), cfg[2] as "lxc" | "qemu") }
    return { _tag: "ok", data: { ...g.config, digest: lab.configDigest(g) } }
  }
  return undefined
}

/** `pvesh` for the host machine. */
export const command = (lab: LabState, machines: Machines, api: ApiCore = apiCore(lab)): Command =>
  defineCommand("pvesh", async (args): Promise<ExecResult> => {
    const verb = args[0]
    const path = args[1]
    if (verb === undefined || !(verb in VERBS) || path === undefined) {
      if (verb === "ls" || verb === "usage") return fail(255, `pvesh ${verb} is not supported here\n`)
      return fail(255, "USAGE: pvesh <COMMAND> [ARGS] [OPTIONS]\n       pvesh create <api_path> [OPTIONS] [FORMAT_OPTIONS]\n       pvesh delete <api_path> [OPTIONS] [FORMAT_OPTIONS]\n       pvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]\n       pvesh set <api_path> [OPTIONS] [FORMAT_OPTIONS]\n")
    }
    const method = VERBS[verb as keyof typeof VERBS]
    const params: Record<string, string | Array<string>> = {}
    let format = "text"
    for (let i = 2; i < args.length; i++) {
      const m = /^--?([a-zA-Z][\w-]*)(?:=(.*))?$/.exec(args[i]!)
      if (!m) return fail(255, `400 unable to parse option\n`)
      const value = m[2] ?? args[++i] ?? ""
      if (m[1] === "output-format") {
        format = value
        continue
      }
      if (m[1] === "noproxy" || m[1] === "human-readable" || m[1] === "noborder" || m[1] === "noheader") continue
      const prev = params[m[1]!]
      params[m[1]!] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
    }
    if (!["text", "json", "json-pretty", "yaml"].includes(format)) {
      return fail(255, `400 Parameter verification failed.\noutput-format: value '${format}' does not have a value in the enumeration 'text, json, json-pretty, yaml'\n`)
    }
    const norm = `/${path.replace(/^\/+|\/+$/g, "")}`
    let answer = await local(lab, machines, method, norm, params)
    if (answer === undefined && api) answer = await api(method, norm, params)
    if (answer === undefined) return fail(255, `no '${verb}' handler for '${norm}'\n`)
    if (answer._tag === "error") {
      const msg = answer.message.replace(/\n$/, "")
      const extra = answer.errors ? Object.entries(answer.errors).map(([k, v]) => `${k}: ${v}\n`).join("") : ""
      return fail(255, answer.status === 500 ? `${msg}\n${extra}` : `${answer.status} ${msg}\n${extra}`)
    }
    const data = answer.data
    if (data === null || data === undefined) return ok()
    if (format === "json") return ok(`${sortedJson(data)}\n`)
    if (format === "json-pretty") return ok(`${perlPretty(data)}\n`)
    if (typeof data !== "object") return ok(`${String(data)}\n`)
    return ok(`${perlPretty(data)}\n`)
  })
