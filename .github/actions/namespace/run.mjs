// The namespace action's one step: turns the action's inputs (INPUT_* variables, set by
// action.yml) into a command of cli/ns.mjs, whose outputs go to $GITHUB_OUTPUT.

import { main } from '../../../cli/ns.mjs';

const input = (name) => (process.env[`INPUT_${name}`] ?? '').trim();

/** The ns.mjs arguments for these inputs. */
function commandFor(inputs) {
  // Values go in --option=value form and a name after `--`, so none can pass for an option.
  const options = inputs.NAME ? [] : [`--branch=${inputs.BRANCH}`];
  if (inputs.PREFIX && !inputs.NAME) options.push(`--prefix=${inputs.PREFIX}`);
  const name = inputs.NAME ? ['--', inputs.NAME] : [];
  switch (inputs.MODE || 'create') {
    case 'create': {
      options.push('--github-output', `--if-exists=${inputs.IF_EXISTS || 'recreate'}`);
      if (inputs.SEED_FILE) options.push(`--seed=${inputs.SEED_FILE}`);
      if (inputs.IDLE_DAYS) options.push(`--idle-days=${inputs.IDLE_DAYS}`);
      return ['create', ...options, ...name];
    }
    case 'cleanup':
      return ['delete', ...options, ...name];
    default:
      throw new Error(`mode must be create or cleanup, not '${inputs.MODE}'`);
  }
}

const inputs = Object.fromEntries(['MODE', 'NAME', 'PREFIX', 'SEED_FILE', 'IDLE_DAYS', 'IF_EXISTS', 'BRANCH'].map((n) => [n, input(n)]));
try {
  if (!inputs.NAME && !inputs.BRANCH) throw new Error('no name given and no branch to derive one from');
  process.exitCode = await main(commandFor(inputs));
} catch (e) {
  console.error(`error: ${e.message}`);
  process.exitCode = 1;
}
