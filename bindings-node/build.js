#!/usr/bin/env node
// Builds the native addon from source with cargo and puts it beside index.js as
// mailwright.<platform>.node. `--if-missing` (the npm install hook) does nothing when a binary for
// this platform is already there. Needs only Node and a Rust toolchain: no JavaScript build tool.
'use strict'

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { platformName } = require('./platform.js')

const here = __dirname
const target = path.join(here, `mailwright.${platformName()}.node`)

if (process.argv.includes('--if-missing') && fs.existsSync(target)) {
  process.exit(0)
}

const profile = process.argv.includes('--debug') ? [] : ['--release']
const cargo = process.env.CARGO || 'cargo'
const run = spawnSync(
  cargo,
  ['build', ...profile, '--locked', '-p', 'mailwright-node', '--message-format=json-render-diagnostics'],
  { cwd: here, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 },
)
if (run.error && run.error.code === 'ENOENT') {
  console.error(
    `mailwright: there is no prebuilt binary for ${platformName()} and \`${cargo}\` was not found.\n` +
      'Install a Rust toolchain (1.95 or newer, e.g. with rustup) and run `npm install` again.',
  )
  process.exit(1)
}
if (run.status !== 0) {
  console.error(`mailwright: \`cargo build\` failed (exit ${run.status}); see the messages above.`)
  process.exit(run.status || 1)
}
let built = null
for (const line of run.stdout.toString().split('\n')) {
  if (!line.startsWith('{')) continue
  const msg = JSON.parse(line)
  if (msg.reason === 'compiler-artifact' && msg.target.name === 'mailwright_node' && msg.target.kind.includes('cdylib')) {
    built = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f))
  }
}
if (!built) {
  console.error('mailwright: cargo finished but reported no addon library')
  process.exit(1)
}
// Copy to a temporary name and rename, so a running process never loads a half-written file.
const tmp = `${target}.${process.pid}.tmp`
fs.copyFileSync(built, tmp)
fs.renameSync(tmp, target)
console.error(`mailwright: built ${path.basename(target)}`)
