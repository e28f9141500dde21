<?xml version="1.0" encoding="UTF-8"?>
<!--
  Canonical application (urn:kz:nsw:application:1) -> customs RegisterDeclarationRequest
  (urn:kz:kgd:customs:declaration:1, wsdl/customs/customs.xsd).
  Parameters (strings): case-id, application-id, callback-url (empty = none).
  Only the elements named here are read, so the trader's enveloped ds:Signature is ignored.
-->
<xsl:stylesheet version="1.0"
                xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:a="urn:kz:nsw:application:1"
                xmlns="urn:kz:kgd:customs:declaration:1"
                exclude-result-prefixes="a">
  <xsl:output method="xml" encoding="UTF-8" indent="no"/>

  <xsl:param name="case-id"/>
  <xsl:param name="application-id"/>
  <xsl:param name="callback-url" select="''"/>

  <xsl:template match="/a:Application">
    <RegisterDeclarationRequest>
      <CaseId><xsl:value-of select="$case-id"/></CaseId>
      <ApplicationId><xsl:value-of select="$application-id"/></ApplicationId>
      <xsl:if test="string($callback-url) != ''">
        <CallbackUrl><xsl:value-of select="$callback-url"/></CallbackUrl>
      </xsl:if>
      <!-- EAEU procedure codes (R, unconfirmed): release for domestic consumption, export, transit. -->
      <ProcedureCode>
        <xsl:choose>
          <xsl:when test="a:Procedure = 'import'">IM40</xsl:when>
          <xsl:when test="a:Procedure = 'export'">EK10</xsl:when>
          <xsl:when test="a:Procedure = 'transit'">TT80</xsl:when>
        </xsl:choose>
      </ProcedureCode>
      <Declarant>
        <BIN><xsl:value-of select="a:DeclarantBIN"/></BIN>
        <!-- The declarant is named when it is also the consignee (the usual case for imports). -->
        <xsl:if test="a:Consignee/a:BIN = a:DeclarantBIN">
          <Name><xsl:value-of select="a:Consignee/a:Name"/></Name>
        </xsl:if>
      </Declarant>
      <Consignor><xsl:apply-templates select="a:Consignor" mode="party"/></Consignor>
      <Consignee><xsl:apply-templates select="a:Consignee" mode="party"/></Consignee>
      <Transport>
        <Mode><xsl:value-of select="a:Transport/a:Mode"/></Mode>
        <VehiclePlate><xsl:value-of select="a:Transport/a:Vehicle/a:Plate"/></VehiclePlate>
        <VehicleCountry><xsl:value-of select="a:Transport/a:Vehicle/a:Country"/></VehicleCountry>
        <EntryCheckpoint><xsl:value-of select="a:Transport/a:EntryCheckpoint"/></EntryCheckpoint>
        <PlannedArrival><xsl:value-of select="a:Transport/a:PlannedArrival"/></PlannedArrival>
      </Transport>
      <Goods>
        <xsl:for-each select="a:GoodsItems/a:Item">
          <Item>
            <LineNumber><xsl:value-of select="@line"/></LineNumber>
            <CommodityCode><xsl:value-of select="a:HSCode"/></CommodityCode>
            <Description><xsl:value-of select="a:Description"/></Description>
            <OriginCountry><xsl:value-of select="a:OriginCountry"/></OriginCountry>
            <NetMassKg><xsl:value-of select="a:NetMassKg"/></NetMassKg>
            <GrossMassKg><xsl:value-of select="a:GrossMassKg"/></GrossMassKg>
            <CustomsValue currency="{a:InvoiceValue/@currency}">
              <xsl:value-of select="a:InvoiceValue"/>
            </CustomsValue>
          </Item>
        </xsl:for-each>
      </Goods>
      <xsl:if test="a:Documents/a:Document">
        <Documents>
          <xsl:for-each select="a:Documents/a:Document">
            <Document>
              <Kind><xsl:value-of select="a:Type"/></Kind>
              <Number><xsl:value-of select="a:Number"/></Number>
              <IssuedOn><xsl:value-of select="a:Date"/></IssuedOn>
            </Document>
          </xsl:for-each>
        </Documents>
      </xsl:if>
    </RegisterDeclarationRequest>
  </xsl:template>

  <xsl:template match="*" mode="party">
    <Name><xsl:value-of select="a:Name"/></Name>
    <xsl:if test="a:BIN"><BIN><xsl:value-of select="a:BIN"/></BIN></xsl:if>
    <Country><xsl:value-of select="a:Country"/></Country>
  </xsl:template>
</xsl:stylesheet>
