#!/usr/bin/env node
/**
 * Extracts the endpoints the product uses from the Proxmox VE API schema (apidata-9.1.3.json) into
 * packages/sandbox/src/generated/pve-endpoints.json: per endpoint its path, method, permissions,
 * allowtoken, parameter and return schemas (descriptions stripped). Tests read only the extract.
 *
 * Usage: node packages/sandbox/scripts/extract-pve-schema.mjs [--check] [path/to/apidata.json]
 *   default input: <repo>/../shared/pve/apidata-9.1.3.json
 *   --check: exit 1 when the committed extract differs from a fresh one.
 */
import { readFileSync, writeFileSync, existsSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, "../../..")
const args = process.argv.slice(2)
const check = args.includes("--check")
const input = args.find((a) => !a.startsWith("--")) ?? resolve(repoRoot, "../shared/pve/apidata-9.1.3.json")
const output = resolve(here, "../src/generated/pve-endpoints.json")

/** The catalogue: every endpoint the product's tools and setup use. */
const guestEndpoints = (t) => [
  ["GET", `/nodes/{node}/${t}`],
  ["GET", `/nodes/{node}/${t}/{vmid}/status/current`],
  ["GET", `/nodes/{node}/${t}/{vmid}/config`],
  ["POST", `/nodes/{node}/${t}/{vmid}/status/start`],
  ["POST", `/nodes/{node}/${t}/{vmid}/status/stop`],
  ["POST", `/nodes/{node}/${t}/{vmid}/status/shutdown`],
  ["POST", `/nodes/{node}/${t}/{vmid}/status/reboot`],
  ["GET", `/nodes/{node}/${t}/{vmid}/snapshot`],
  ["POST", `/nodes/{node}/${t}/{vmid}/snapshot`],
  ["DELETE", `/nodes/{node}/${t}/{vmid}/snapshot/{snapname}`],
  ["POST", `/nodes/{node}/${t}/{vmid}/snapshot/{snapname}/rollback`]
]
const CATALOGUE = [
  ["GET", "/version"],
  ["GET", "/nodes"],
  ["GET", "/nodes/{node}/status"],
  ["GET", "/nodes/{node}/disks/zfs"],
  ["GET", "/nodes/{node}/network"],
  ["GET", "/nodes/{node}/services"],
  ["GET", "/nodes/{node}/syslog"],
  ["GET", "/nodes/{node}/journal"],
  ["GET", "/cluster/status"],
  ["GET", "/cluster/resources"],
  ...guestEndpoints("lxc"),
  ...guestEndpoints("qemu"),
  ["GET", "/nodes/{node}/storage"],
  ["GET", "/nodes/{node}/storage/{storage}/status"],
  ["GET", "/nodes/{node}/storage/{storage}/content"],
  ["POST", "/nodes/{node}/vzdump"],
  ["GET", "/nodes/{node}/tasks"],
  ["GET", "/nodes/{node}/tasks/{upid}/status"],
  ["GET", "/nodes/{node}/tasks/{upid}/log"],
  ["DELETE", "/nodes/{node}/tasks/{upid}"],
  ["GET", "/nodes/{node}/apt/update"],
  ["POST", "/nodes/{node}/apt/update"],
  ["GET", "/nodes/{node}/apt/versions"],
  ["GET", "/access/permissions"],
  ["GET", "/access/roles"],
  ["POST", "/nodes/{node}/qemu/{vmid}/agent/ping"],
  ["GET", "/nodes/{node}/qemu/{vmid}/agent/info"],
  ["GET", "/nodes/{node}/qemu/{vmid}/agent/get-osinfo"],
  ["GET", "/nodes/{node}/qemu/{vmid}/agent/get-host-name"],
  ["GET", "/nodes/{node}/qemu/{vmid}/agent/get-fsinfo"],
  ["GET", "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces"],
  ["POST", "/nodes/{node}/qemu/{vmid}/agent/exec"],
  ["GET", "/nodes/{node}/qemu/{vmid}/agent/exec-status"],
  ["GET", "/nodes/{node}/qemu/{vmid}/agent/file-read"],
  ["POST", "/nodes/{node}/qemu/{vmid}/agent/file-write"]
]

const DROP = new Set(["description", "verbose_description", "typetext", "links", "format_description", "print_width", "renderer", "title"])
/** Drops documentation keys of schema nodes; keys of `properties` maps (property names) are kept. */
const strip = (v) => {
  if (Array.isArray(v)) return v.map(strip)
  if (v && typeof v === "object") {
    const out = {}
    for (const k of Object.keys(v).sort()) {
      if (DROP.has(k)) continue
      if ((k === "properties" || (k === "format" && typeof v[k] === "object")) && v[k] && typeof v[k] === "object") {
        const props = {}
        for (const name of Object.keys(v[k]).sort()) props[name] = strip(v[k][name])
        out[k] = props
      } else out[k] = strip(v[k])
    }
    return out
  }
  return v
}

if (!existsSync(input)) {
  console.error(`extract-pve-schema: input not found: ${input}\nPass the path to apidata-9.1.3.json as an argument.`)
  process.exit(2)
}
const schema = JSON.parse(readFileSync(input, "utf8"))
const byPath = new Map()
;(function walk(nodes) {
  for (const n of nodes) {
    byPath.set(n.path, n)
    if (n.children) walk(n.children)
  }
})(schema)

const endpoints = CATALOGUE.map(([method, path]) => {
  const node = byPath.get(path)
  const info = node?.info?.[method]
  if (!info) {
    console.error(`extract-pve-schema: ${method} ${path} is not in the schema`)
    process.exit(2)
  }
  return {
    method,
    path,
    name: info.name,
    allowtoken: info.allowtoken ?? 1,
    protected: info.protected ?? 0,
    permissions: strip(info.permissions ?? null),
    parameters: strip(info.parameters ?? { additionalProperties: 0, properties: {} }),
    returns: strip(info.returns ?? { type: "null" })
  }
})
const text = JSON.stringify({ source: "apidata-9.1.3.json", pveVersion: "9.1.3", endpoints }, null, 1) + "\n"
if (check) {
  const current = existsSync(output) ? readFileSync(output, "utf8") : ""
  if (current !== text) {
    console.error("extract-pve-schema: src/generated/pve-endpoints.json is out of date; run `pnpm schema:generate`.")
    process.exit(1)
  }
  console.error("extract-pve-schema: extract is up to date")
} else {
  writeFileSync(output, text)
  console.error(`extract-pve-schema: wrote ${endpoints.length} endpoints to ${output}`)
}
