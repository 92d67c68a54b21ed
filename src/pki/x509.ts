// @peculiar/x509 uses tsyringe, which needs a Reflect metadata polyfill loaded before it.
// Every module in pki imports x509 from here so the order is always right.
import 'reflect-metadata';

export * from '@peculiar/x509';
