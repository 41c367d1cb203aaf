"""The SIFAC (SAP) export: IDoc ACC_ACT_ALLOC02 flat file and XML, and CSV (docs/billing.md)."""
