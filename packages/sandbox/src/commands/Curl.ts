/**
 * `curl` against the lab's simulated services (sandbox.md §5.1): the target machine is found by
 * address (loopback, the machine's own name, a guest IP, the node IP); an open port (from the target's
 * listening sockets) answers 200 with a small service page, a closed one fails like curl does (`curl:
 * (7) Failed to connect …`, 7); HTTPS to the self-signed services needs `-k` (60 otherwise). Nothing
 * leaves the process: just-bash's network stays off.
 */
import { defineCommand, type Command } from "just-bash"
import type { LabState } from "../state/LabState.js"
import type { Machine } from "../machines/Machine.js"
import type { Machines } from "../machines/Machines.js"
import * as Paths from "../machines/Paths.js"
import { fail, ok } from "./Result.js"

const page = (port: number, process: string): { server: string; type: string; body: string } => {
  if (process.startsWith("pveproxy") || port === 8006) return { server: "pve-api-daemon/3.0", type: "text/html;charset=UTF-8", body: "<!DOCTYPE html>\n<html><head><title>pve - Proxmox Virtual Environment</title></head><body></body></html>\n" }
  if (process === "nginx") return { server: "nginx/1.22.1", type: "text/html", body: "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>\n" }
  if (process === "AdGuardHome") return { server: "AdGuardHome", type: "text/html; charset=utf-8", body: "<!DOCTYPE html><html><head><title>AdGuard Home</title></head><body></body></html>\n" }
  return { server: process, type: "text/plain; charset=utf-8", body: "OK\n" }
}

/** `curl` on a machine. */
export const command = (lab: LabState, machines: Machines, self: Machine): Command =>
  defineCommand("curl", async (args, ctx) => {
    let silent = false
    let showError = false
    let insecure = false
    let head = false
    let output: string | undefined
    let writeOut: string | undefined
    let url: string | undefined
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      if (a === "-o" || a === "--output") output = args[++i]
      else if (a === "-w" || a === "--write-out") writeOut = args[++i]
      else if (["-X", "--request", "-H", "--header", "-m", "--max-time", "--connect-timeout", "-d", "--data", "-u", "--user", "-A", "--user-agent"].includes(a)) i++
      else if (a === "-I" || a === "--head") head = true
      else if (a.startsWith("--")) {
        if (a === "--silent") silent = true
        else if (a === "--show-error") showError = true
        else if (a === "--insecure") insecure = true
      } else if (/^-[a-zA-Z]+$/.test(a)) {
        for (const c of a.slice(1)) {
          if (c === "s") silent = true
          else if (c === "S") showError = true
          else if (c === "k") insecure = true
          else if (c === "I") head = true
        }
      } else url = a
    }
    const complain = (code: number, msg: string) => fail(code, silent && !showError ? "" : `curl: (${code}) ${msg}\n`, writeOut?.replace(/%\{http_code\}/g, "000").replace(/\\n/g, "\n") ?? "")
    if (url === undefined) return fail(2, "curl: try 'curl --help' or 'curl --manual' for more information\n")
    const m = /^(?:(https?):\/\/)?([^/:]+)(?::(\d+))?(\/.*)?$/.exec(url)
    if (!m) return complain(3, `URL rejected: Malformed input to a URL function`)
    const scheme = m[1] ?? "http"
    const host = m[2]!
    const port = m[3] !== undefined ? Number(m[3]) : scheme === "https" ? 443 : 80
    let target: Machine | undefined
    let address = host
    if (host === "localhost" || host === "127.0.0.1" || host === "::1" || host === self.hostname()) {
      target = self
      address = host === "localhost" ? "127.0.0.1" : host
    } else if (host === lab.node.ip || host === lab.nodeName || host === `${lab.nodeName}.home.arpa`) target = machines.host()
    else {
      const g = lab.listGuests().find((x) => x.ip === host || lab.guestName(x) === host)
      if (g && g.status === "running") target = machines.guest(g.vmid)
      else if (!/^\d+\.\d+\.\d+\.\d+$/.test(host)) return complain(6, `Could not resolve host: ${host}`)
    }
    const listening = target?.sys().listening.find((l) => l.port === port && (l.address !== "127.0.0.1" || target === self))
    if (!target || !listening) return complain(7, `Failed to connect to ${address} port ${port} after 0 ms: Couldn't connect to server`)
    if (scheme === "https" && !insecure) return complain(60, "SSL certificate problem: self-signed certificate\nMore details here: https://curl.se/docs/sslcerts.html\n\ncurl failed to verify the legitimacy of the server and therefore could not\nestablish a secure connection to it. To learn more about this situation and\nhow to fix it, please visit the webpage mentioned above.")
    const p = page(port, listening.process)
    const headers = `HTTP/1.1 200 OK\r\nServer: ${p.server}\r\nContent-Type: ${p.type}\r\nContent-Length: ${Buffer.byteLength(p.body)}\r\nConnection: keep-alive\r\n\r\n`
    const body = head ? headers : p.body
    const extra = writeOut?.replace(/%\{http_code\}/g, "200").replace(/%\{size_download\}/g, String(head ? 0 : Buffer.byteLength(p.body))).replace(/\\n/g, "\n") ?? ""
    if (output !== undefined && output !== "-") {
      const dest = output === "/dev/null" ? undefined : Paths.normalize(output, ctx.cwd)
      if (dest) await ctx.fs.writeFile(dest, body)
      return ok(extra)
    }
    return ok(body + extra)
  })
