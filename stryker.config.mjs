// Mutation testing of the pure modules (README "Quality gates", docs/mutation-testing.md): the same
// modules as the coverage gate in vitest.config.ts, killed by the core project's tests only. Not part
// of CI or `pnpm test` (too slow); run by hand:
//   pnpm mutate                                              every pure module
//   pnpm mutate --mutate 'packages/core/src/diff/**/*.ts'    one module (reports go to reports/mutation/diff/)
const modules = ["guardrails", "backup", "audit", "redaction", "census", "health", "diff", "shell"]

// `--mutate` on the command line replaces `mutate` below; when it names a single module, that module's
// reports get their own folder so runs module by module do not overwrite each other.
const cliMutate = process.argv.find((arg, i) => ["--mutate", "-m"].includes(process.argv[i - 1] ?? "") || arg.startsWith("--mutate="))
const single = cliMutate === undefined ? undefined : /packages\/core\/src\/([a-z]+)\//.exec(cliMutate)?.[1]
const reportDir = single !== undefined && modules.includes(single) ? `reports/mutation/${single}` : "reports/mutation"

// Stryker checks these options against its schema when it starts.
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.mutation.config.ts" },
  coverageAnalysis: "perTest",
  mutate: [`packages/core/src/{${modules.join(",")}}/**/*.ts`],
  // The sandbox copy holds what the core tests load and nothing else (node_modules are symlinked in).
  ignorePatterns: [
    "/*",
    "!/package.json",
    "!/tsconfig.json",
    "!/tsconfig.base.json",
    "!/vitest.setup.ts",
    "!/vitest.mutation.config.ts",
    "!/packages",
    "/packages/*",
    "!/packages/core"
  ],
  concurrency: 2,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: `${reportDir}/mutation.html` },
  jsonReporter: { fileName: `${reportDir}/mutation.json` },
  // inside .tmp/, which git and eslint already ignore
  tempDirName: ".tmp/stryker",
  cleanTempDir: true
}
