<?xml version="1.0" encoding="UTF-8"?>
<!--
  Canonical application (urn:kz:nsw:application:1) -> Ministry of Agriculture RequestPermitRequest
  (urn:kz:moa:permits:1, wsdl/agriculture/agriculture.xsd).
  Parameters (strings): case-id, application-id, callback-url (empty = none).
  Only veterinary and phytosanitary certificates are passed on; the ministry does not read the other
  trade documents. Only the elements named here are read, so the enveloped ds:Signature is ignored.
-->
<xsl:stylesheet version="1.0"
                xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:a="urn:kz:nsw:application:1"
                xmlns="urn:kz:moa:permits:1"
                exclude-result-prefixes="a">
  <xsl:output method="xml" encoding="UTF-8" indent="no"/>

  <xsl:param name="case-id"/>
  <xsl:param name="application-id"/>
  <xsl:param name="callback-url" select="''"/>

  <xsl:template match="/a:Application">
    <RequestPermitRequest>
      <CaseId><xsl:value-of select="$case-id"/></CaseId>
      <ApplicationId><xsl:value-of select="$application-id"/></ApplicationId>
      <xsl:if test="string($callback-url) != ''">
        <CallbackUrl><xsl:value-of select="$callback-url"/></CallbackUrl>
      </xsl:if>
      <Movement><xsl:value-of select="a:Procedure"/></Movement>
      <Applicant>
        <BIN><xsl:value-of select="a:DeclarantBIN"/></BIN>
        <!-- The applicant is the consignee when the declarant is the consignee, else the declarant
             is named by its BIN only (the canonical application carries no separate name). -->
        <Name>
          <xsl:choose>
            <xsl:when test="a:Consignee/a:BIN = a:DeclarantBIN"><xsl:value-of select="a:Consignee/a:Name"/></xsl:when>
            <xsl:when test="a:Transport/a:Carrier/a:BIN = a:DeclarantBIN"><xsl:value-of select="a:Transport/a:Carrier/a:Name"/></xsl:when>
            <xsl:otherwise><xsl:value-of select="concat('BIN ', a:DeclarantBIN)"/></xsl:otherwise>
          </xsl:choose>
        </Name>
      </Applicant>
      <Exporter>
        <Name><xsl:value-of select="a:Consignor/a:Name"/></Name>
        <Country><xsl:value-of select="a:Consignor/a:Country"/></Country>
      </Exporter>
      <BorderPost><xsl:value-of select="a:Transport/a:EntryCheckpoint"/></BorderPost>
      <!-- xs:dateTime -> xs:date: the first ten characters, as the trader wrote them. -->
      <ExpectedOn><xsl:value-of select="substring(a:Transport/a:PlannedArrival, 1, 10)"/></ExpectedOn>
      <Consignments>
        <xsl:for-each select="a:GoodsItems/a:Item">
          <Consignment>
            <LineNumber><xsl:value-of select="@line"/></LineNumber>
            <CommodityCode><xsl:value-of select="a:HSCode"/></CommodityCode>
            <Description><xsl:value-of select="a:Description"/></Description>
            <OriginCountry><xsl:value-of select="a:OriginCountry"/></OriginCountry>
            <NetMassKg><xsl:value-of select="a:NetMassKg"/></NetMassKg>
            <Quantity unit="{a:Quantity/@unit}"><xsl:value-of select="a:Quantity"/></Quantity>
          </Consignment>
        </xsl:for-each>
      </Consignments>
      <xsl:variable name="certificates"
                    select="a:Documents/a:Document[a:Type = 'veterinary-certificate' or a:Type = 'phytosanitary-certificate']"/>
      <xsl:if test="$certificates">
        <Certificates>
          <xsl:for-each select="$certificates">
            <Certificate>
              <Kind><xsl:value-of select="substring-before(a:Type, '-certificate')"/></Kind>
              <Number><xsl:value-of select="a:Number"/></Number>
              <IssuedOn><xsl:value-of select="a:Date"/></IssuedOn>
              <xsl:if test="a:Issuer"><IssuedBy><xsl:value-of select="a:Issuer"/></IssuedBy></xsl:if>
            </Certificate>
          </xsl:for-each>
        </Certificates>
      </xsl:if>
    </RequestPermitRequest>
  </xsl:template>
</xsl:stylesheet>
