// The Relay Node interface (the relay plugin's, so ids use its global id encoding:
// base64("<Type>:<key>")). Relay clients key their store by it.
import { builder } from '../builder.js';

export const NodeRef = builder.nodeInterfaceRef();
