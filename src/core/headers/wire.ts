// CR, LF, NUL and the other controls but tab: they would break the message framing
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f]/g;
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/**
 * Header values on the wire. Node only accepts header strings whose characters fit in one byte and
 * writes them as latin1; authentik's Go server writes a value's UTF-8 bytes. So a value is turned
 * into the string whose latin1 bytes are its UTF-8 bytes, and controls become spaces, as Go does
 * with CR and LF.
 */
export function toWireValue(value: string): string {
  const safe = value.replace(CONTROLS, ' ');
  if (ASCII.test(safe)) return safe;
  return Buffer.from(safe, 'utf8').toString('latin1');
}

/** The inverse: a value as received by Node (latin1) back to the text its UTF-8 bytes spell. */
export function fromWireValue(value: string): string {
  if (ASCII.test(value)) return value;
  return Buffer.from(value, 'latin1').toString('utf8');
}
