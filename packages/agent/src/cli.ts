#!/usr/bin/env node
/**
 * `tessera-agent`: serves a grid's pools with the task modules `--tasks` names (or the program
 * `--command` names) until SIGTERM or SIGINT, then drains. See agent-cli.ts for the flags; the
 * bundled agent (bundled-agent.ts) runs the same command line with its task modules built in.
 */
import { startAgentCli } from "./agent-cli.ts";

startAgentCli();
