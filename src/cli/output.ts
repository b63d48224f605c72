import { Chalk, type ChalkInstance } from 'chalk';

/**
 * Colour for one output stream: on only for a terminal, off when NO_COLOR is set to anything
 * (chalk 5 alone ignores NO_COLOR on a terminal), forced on by FORCE_COLOR.
 */
export function colorsFor(stream: NodeJS.WriteStream, env = process.env): ChalkInstance {
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0';
  const disabled = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const level = disabled ? 0 : forced || stream.isTTY ? 1 : 0;
  return new Chalk({ level });
}
