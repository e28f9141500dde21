<?xml version="1.0" encoding="UTF-8"?>
<!--
  Canonical application (urn:kz:nsw:application:1) -> phytosanitary CheckConsignmentRequest
  (urn:kz:moa:phyto:1, wsdl/phytosanitary/phytosanitary.xsd): the consignment as declared, written as
  a UN/CEFACT SPS certificate (SPSCertificate 17) so the service can hold it against the exporting
  NPPO's ePhyto certificate field by field.
  Parameters (strings): case-id, application-id, callback-url (empty = none).
  SPSExchangedDocument carries the phytosanitary certificate the trader quotes (its number, date and
  issuer; no ID when none is quoted); TypeCode 851 = phytosanitary certificate for export, StatusCode
  70 = issued (shared/reference/ephyto-sps.md rows 20-21). Transport ModeCode follows UN/ECE
  Recommendation 19 (1 sea, 2 rail, 3 road, 4 air). Only the elements named here are read, so the
  enveloped ds:Signature is ignored.
-->
<xsl:stylesheet version="1.0"
                xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:a="urn:kz:nsw:application:1"
                xmlns="urn:kz:moa:phyto:1"
                xmlns:rsm="urn:un:unece:uncefact:data:standard:SPSCertificate:17"
                xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21"
                xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:21"
                exclude-result-prefixes="a">
  <xsl:output method="xml" encoding="UTF-8" indent="no"/>

  <xsl:param name="case-id"/>
  <xsl:param name="application-id"/>
  <xsl:param name="callback-url" select="''"/>

  <xsl:template match="/a:Application">
    <xsl:variable name="pc" select="a:Documents/a:Document[a:Type = 'phytosanitary-certificate'][1]"/>
    <CheckConsignmentRequest>
      <CaseId><xsl:value-of select="$case-id"/></CaseId>
      <ApplicationId><xsl:value-of select="$application-id"/></ApplicationId>
      <xsl:if test="string($callback-url) != ''">
        <CallbackUrl><xsl:value-of select="$callback-url"/></CallbackUrl>
      </xsl:if>
      <Movement><xsl:value-of select="a:Procedure"/></Movement>
      <rsm:SPSCertificate>
        <rsm:SPSExchangedDocument>
          <ram:Name>Phytosanitary certificate</ram:Name>
          <xsl:if test="$pc">
            <ram:ID><xsl:value-of select="$pc/a:Number"/></ram:ID>
          </xsl:if>
          <ram:TypeCode>851</ram:TypeCode>
          <ram:StatusCode>70</ram:StatusCode>
          <xsl:if test="$pc">
            <ram:IssueDateTime><udt:DateTimeString><xsl:value-of select="$pc/a:Date"/></udt:DateTimeString></ram:IssueDateTime>
            <xsl:if test="$pc/a:Issuer">
              <ram:IssuerSPSParty><ram:Name><xsl:value-of select="$pc/a:Issuer"/></ram:Name></ram:IssuerSPSParty>
            </xsl:if>
          </xsl:if>
        </rsm:SPSExchangedDocument>
        <rsm:SPSConsignment>
          <ram:ConsignorSPSParty>
            <xsl:if test="a:Consignor/a:ForeignId | a:Consignor/a:BIN">
              <ram:ID><xsl:value-of select="a:Consignor/a:ForeignId | a:Consignor/a:BIN"/></ram:ID>
            </xsl:if>
            <ram:Name><xsl:value-of select="a:Consignor/a:Name"/></ram:Name>
            <ram:SpecifiedSPSAddress><ram:LineOne><xsl:value-of select="a:Consignor/a:Address"/></ram:LineOne></ram:SpecifiedSPSAddress>
          </ram:ConsignorSPSParty>
          <ram:ConsigneeSPSParty>
            <xsl:if test="a:Consignee/a:ForeignId | a:Consignee/a:BIN">
              <ram:ID><xsl:value-of select="a:Consignee/a:ForeignId | a:Consignee/a:BIN"/></ram:ID>
            </xsl:if>
            <ram:Name><xsl:value-of select="a:Consignee/a:Name"/></ram:Name>
            <ram:SpecifiedSPSAddress><ram:LineOne><xsl:value-of select="a:Consignee/a:Address"/></ram:LineOne></ram:SpecifiedSPSAddress>
          </ram:ConsigneeSPSParty>
          <ram:ExportSPSCountry><ram:ID><xsl:value-of select="a:Consignor/a:Country"/></ram:ID></ram:ExportSPSCountry>
          <ram:ImportSPSCountry><ram:ID><xsl:value-of select="a:Consignee/a:Country"/></ram:ID></ram:ImportSPSCountry>
          <ram:UnloadingBaseportSPSLocation><ram:ID><xsl:value-of select="a:Transport/a:EntryCheckpoint"/></ram:ID></ram:UnloadingBaseportSPSLocation>
          <ram:MainCarriageSPSTransportMovement>
            <ram:ID><xsl:value-of select="a:Transport/a:Vehicle/a:Plate"/></ram:ID>
            <ram:ModeCode>
              <xsl:choose>
                <xsl:when test="a:Transport/a:Mode = 'sea'">1</xsl:when>
                <xsl:when test="a:Transport/a:Mode = 'rail'">2</xsl:when>
                <xsl:when test="a:Transport/a:Mode = 'air'">4</xsl:when>
                <xsl:otherwise>3</xsl:otherwise>
              </xsl:choose>
            </ram:ModeCode>
            <ram:UsedSPSTransportMeans><ram:Name><xsl:value-of select="a:Transport/a:Carrier/a:Name"/></ram:Name></ram:UsedSPSTransportMeans>
          </ram:MainCarriageSPSTransportMovement>
          <ram:IncludedSPSConsignmentItem>
            <xsl:for-each select="a:GoodsItems/a:Item">
              <ram:IncludedSPSTradeLineItem>
                <ram:SequenceNumeric><xsl:value-of select="@line"/></ram:SequenceNumeric>
                <ram:Description><xsl:value-of select="a:Description"/></ram:Description>
                <ram:NetWeightMeasure unitCode="KGM"><xsl:value-of select="a:NetMassKg"/></ram:NetWeightMeasure>
                <ram:GrossWeightMeasure unitCode="KGM"><xsl:value-of select="a:GrossMassKg"/></ram:GrossWeightMeasure>
                <ram:ApplicableSPSClassification>
                  <ram:SystemName>TN VED</ram:SystemName>
                  <ram:ClassCode><xsl:value-of select="a:HSCode"/></ram:ClassCode>
                </ram:ApplicableSPSClassification>
                <ram:OriginSPSCountry><ram:ID><xsl:value-of select="a:OriginCountry"/></ram:ID></ram:OriginSPSCountry>
              </ram:IncludedSPSTradeLineItem>
            </xsl:for-each>
          </ram:IncludedSPSConsignmentItem>
        </rsm:SPSConsignment>
      </rsm:SPSCertificate>
    </CheckConsignmentRequest>
  </xsl:template>
</xsl:stylesheet>
