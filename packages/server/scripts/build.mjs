// Bundles the homelab-mcp bin: dist/main.js is the ESM entry; esbuild splitting puts lazily imported
// modules (serve, sandbox, tools, heavy transports) into dist/chunks/ so a tier loads only what it uses.
// Version and git sha are embedded with `define`.
import { execFileSync } from "node:child_process"
import { readFileSync, rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
let sha = "unknown"
try {
  sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, stdio: ["ignore", "pipe", "ignore"] }).toString().trim()
} catch {
  // not a git checkout: keep "unknown"
}

/** Shared options, also used by scripts/bench to bundle the minimal comparison server the same way. */
export const bundleOptions = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  legalComments: "none",
  logLevel: "warning",
  banner: {
    js:
      "import { createRequire as __homelabCreateRequire } from 'node:module'; import { fileURLToPath as __homelabToPath } from 'node:url'; import { dirname as __homelabDirname } from 'node:path'; " +
      "const require = __homelabCreateRequire(import.meta.url); const __filename = __homelabToPath(import.meta.url); const __dirname = __homelabDirname(__filename);"
  },
  // Optional native accelerators of ssh2; the pure-JS fallbacks are used.
  external: ["cpu-features", "*.node"]
}

const out = join(root, "dist")
rmSync(out, { recursive: true, force: true })
await build({
  ...bundleOptions,
  entryPoints: { main: join(root, "src/main.ts") },
  outdir: out,
  metafile: false,
  define: {
    __HOMELAB_MCP_VERSION__: JSON.stringify(pkg.version),
    __HOMELAB_MCP_GIT_SHA__: JSON.stringify(sha)
  }
})
process.stderr.write(`built ${join(out, "main.js")} (homelab-mcp ${pkg.version}, ${sha})\n`)
