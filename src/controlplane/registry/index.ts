export { kubernetesPortProtocol, meshServiceOf, meshServicesOf } from './kubernetes-services.js';
