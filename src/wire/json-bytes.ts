// The bytes of JSON's structure, for the scanners that follow a JSON text without parsing it
// (the local service's depth check, the full audit's export reader): in UTF-8 none of them can
// occur inside a multi-byte character, so they are found without decoding.
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COLON = 0x3a;
export const COMMA = 0x2c;
export const OPEN_OBJECT = 0x7b;
export const CLOSE_OBJECT = 0x7d;
export const OPEN_ARRAY = 0x5b;
export const CLOSE_ARRAY = 0x5d;
