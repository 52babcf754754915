import { dictionary } from '@zxcvbn-ts/language-common';
import type { CommonPasswords } from '../../domain/user/password-policy';

let loaded: CommonPasswords | undefined;

/**
 * R-CRED-1: the common-password list of zxcvbn-ts (@zxcvbn-ts/language-common,
 * pinned in package.json): about 49 000 passwords seen most often in breaches,
 * shipped in the package and read on first use, lower-cased. Nothing is fetched.
 */
export function commonPasswords(): CommonPasswords {
  loaded ??= new Set(dictionary['passwords-common'].map((password) => password.toLowerCase()));
  return loaded;
}
