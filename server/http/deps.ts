/** What the portal's HTTP layer is built from: services, the audit trail, views, config and the authentication seams. */
import type { ServiceContext } from '../services/context.js';
import type { ViewRenderer } from '../views.js';
import type { AuditTrail } from '../audit/trail.js';
import type { PortalSection } from '../config.js';
import type { BearerVerifier, CertificateLogin, OidcLogin } from './seams.js';
import type { Notifier } from '../services/notifications.js';
import type { EmbargoExtensionStore } from '../services/embargo-extensions.js';
import type { ComplianceReportStore } from '../services/compliance-reports.js';
import type { TrustStore } from '../auth/certificate-chain.js';

export interface PortalDeps {
  services: ServiceContext;
  auditTrail: AuditTrail;
  views: ViewRenderer;
  config: PortalSection;
  certificateLogin: CertificateLogin;
  oidcLogin: OidcLogin;
  bearer: BearerVerifier;
  /** E-mail verification and notices; absent in tests that need no mail. */
  notifier?: Notifier;
  /** Embargo extension requests (the app opens one beside the sessions when not given). */
  embargoExtensions?: EmbargoExtensionStore;
  /** Signed compliance reports from the agents (the app opens one beside the sessions when not given). */
  complianceReports?: ComplianceReportStore;
  /** The trust directory of certificate logins; the agents' report signatures are checked against it too. */
  trust?: TrustStore;
}
